"""Start a real Celery worker process for integration tests, on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def current_database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@contextmanager
def celery_worker(
    broker_url: str,
    *,
    beat: bool = False,
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    own_process_group: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `celery worker` on `broker_url` until the block ends; stop it by its PID.

    `log_path`: where its log goes (a temporary file otherwise), for tests that read it.
    `own_process_group`: start it in a session of its own, so a test can SIGKILL the worker
    and its pool processes together with `os.killpg(process.pid, signal.SIGKILL)`.
    """
    with _log_file(log_path, "celery-worker-", "ab") as log:
        command = [
            "worker", "--loglevel", "INFO", "--concurrency", str(concurrency),
            "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(Path(log.name).with_suffix(".beat"))]
        with _celery_process(
            command, broker_url, env, log, b"ready.", "worker", own_process_group
        ) as process:
            yield process


@contextmanager
def celery_beat(
    broker_url: str, *, env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run one `celery beat` (production runs it apart from the workers) until the block ends;
    stop it by its PID. Its schedule file lives next to its log (`log_path`, or a temporary
    file), so every run starts afresh."""
    with _log_file(log_path, "celery-beat-", "wb") as log:
        command = [
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(Path(log.name).with_suffix(".beat")),
        ]
        with _celery_process(command, broker_url, env, log, b"beat: Starting", "beat") as process:
            yield process


@contextmanager
def _log_file(log_path: Path | None, prefix: str, mode: str) -> Iterator[IO[bytes]]:
    log = (
        log_path.open(mode)
        if log_path is not None
        else tempfile.NamedTemporaryFile(prefix=prefix, suffix=".log", delete=False)  # noqa: SIM115
    )
    try:
        yield log
    finally:
        log.close()


@contextmanager
def _celery_process(
    arguments: list[str],
    broker_url: str,
    env: dict[str, str] | None,
    log: IO[bytes],
    ready_marker: bytes,
    what: str,
    own_process_group: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `celery -A sesconsole <arguments>` on the test database and `broker_url`, wait
    until its log (from where it stood, in case the file is reused) shows `ready_marker`,
    and stop it by its PID when the block ends."""
    process_env = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "CELERY_BROKER_URL": broker_url,
        **(env or {}),
    }
    start = Path(log.name).stat().st_size
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sesconsole", *arguments],
        cwd=BASE_DIR,
        env=process_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=own_process_group,
    )
    try:
        wait_for(
            lambda: (
                ready_marker in Path(log.name).read_bytes()[start:] or process.poll() is not None
            ),
            60,
            f"{what} start",
        )
        if process.poll() is not None:
            raise RuntimeError(f"celery {what} exited: {Path(log.name).read_text()[-3000:]}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until `predicate()` is true: for waiting on another process, not for timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
