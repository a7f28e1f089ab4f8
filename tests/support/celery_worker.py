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
    log = (
        log_path.open("ab")
        if log_path is not None
        else tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
    )
    command = [
        sys.executable, "-m", "celery", "-A", "sesconsole", "worker",
        "--loglevel", "INFO", "--concurrency", str(concurrency),
        "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(Path(log.name).with_suffix(".beat"))]
    process_env = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "CELERY_BROKER_URL": broker_url,
        **(env or {}),
    }
    start = Path(log.name).stat().st_size  # a reused log_path: look for "ready." after this
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=process_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=own_process_group,
    )
    try:
        wait_for(
            lambda: b"ready." in Path(log.name).read_bytes()[start:] or process.poll() is not None,
            60,
            "worker start",
        )
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited: {Path(log.name).read_text()[-3000:]}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def celery_beat(
    broker_url: str, *, env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run one `celery beat` (production runs it apart from the workers) until the block ends;
    stop it by its PID. Its schedule file lives next to its log (`log_path`, or a temporary
    file), so every run starts afresh."""
    log = (
        log_path.open("wb")
        if log_path is not None
        else tempfile.NamedTemporaryFile(prefix="celery-beat-", suffix=".log", delete=False)  # noqa: SIM115
    )
    command = [
        sys.executable, "-m", "celery", "-A", "sesconsole", "beat", "--loglevel", "INFO",
        "--schedule", str(Path(log.name).with_suffix(".beat")),
    ]  # fmt: skip
    process_env = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "CELERY_BROKER_URL": broker_url,
        **(env or {}),
    }
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=process_env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: b"beat: Starting" in Path(log.name).read_bytes() or process.poll() is not None,
            60,
            "beat start",
        )
        if process.poll() is not None:
            raise RuntimeError(f"celery beat exited: {Path(log.name).read_text()[-3000:]}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until `predicate()` is true: for waiting on another process, not for timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
