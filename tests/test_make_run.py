"""`make run` in a pseudo-terminal, as a person runs it: Ctrl-C stops every process cleanly
with no error line (no "make: *** … Interrupt", no traceback, no SIGKILL) and exit status 0;
and the embedded worker (scripts/run_worker.py, prefork) enforces task time limits and stops
with a warm shutdown.

Everything runs on free loopback ports and a temporary var directory, is bounded by
deadlines, and is stopped by the PIDs these tests started."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

BASE_DIR = Path(__file__).resolve().parent.parent
STARTED = (b"Starting development server", b"ready.", b"SMTP server on")
# What a person sees on the terminal after Ctrl-C when something went wrong.
ERROR_LINES = (b"make: ***", b"Traceback", b"SIGKILL", b"Error 130", b"Interrupt")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def embedded_env(var_dir: Path) -> dict[str, str]:
    """`make run`'s own defaults (SQLite, the SQLite broker) in var_dir, on free ports."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "EMAIL_", "DJANGO_", "TEST_", "SMTP_"))
    }
    env.update(
        SESCONSOLE_VAR_DIR=str(var_dir),
        CONSOLE_PORT=str(free_port()),
        SMTP_PORT=str(free_port()),
        SMTP_TLS_PORT="0",
    )
    return env


def read_until(fd: int, output: bytearray, done: object, deadline: float) -> None:
    """Append the terminal's output until `done(output)` or EOF; fail at the deadline."""
    while not done(output):  # type: ignore[operator]
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; the terminal showed:\n{output.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every process holding the terminal is gone
            return
        if not chunk:
            return
        output.extend(chunk)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[int, int, bytearray]]:
    """`make run` with the pseudo-terminal as its controlling terminal: (pid, terminal fd, the
    output read so far). `-o .venv/.installed`: the venv is installed already; a test never
    reinstalls it."""
    env = embedded_env(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.chdir(BASE_DIR)
        os.execvpe("make", ["make", "-o", ".venv/.installed", "run"], env)
    output = bytearray()
    try:
        yield pid, fd, output
    finally:
        stop_what_is_left(pid, fd, output)


def stop_what_is_left(pid: int, fd: int, output: bytearray) -> None:
    """After a failure half-way: Ctrl-C, then SIGKILL to make's group and to each process
    honcho started (each leads a session of its own), all by the PIDs this test started."""
    try:
        os.write(fd, b"\x03")
        read_until(fd, output, lambda out: False, time.monotonic() + 30)
    except (OSError, AssertionError):
        pass
    started = [int(p) for p in re.findall(rb"started \(pid=(\d+)\)", bytes(output))]
    for group in (pid, *started):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    os.close(fd)


@pytest.mark.skipif(sys.platform != "linux", reason="the pty and process-group calls are Linux's")
def test_make_run_stops_on_ctrl_c_with_no_error_line(
    make_run: tuple[int, int, bytearray],
) -> None:
    pid, fd, output = make_run
    read_until(fd, output, lambda out: all(word in out for word in STARTED), time.monotonic() + 240)
    started_at = len(output)

    os.write(fd, b"\x03")  # Ctrl-C, as typed: the terminal sends SIGINT to its foreground group
    read_until(fd, output, lambda out: False, time.monotonic() + 60)
    _, status = os.waitpid(pid, 0)

    after = bytes(output[started_at:])
    assert os.waitstatus_to_exitcode(status) == 0, after.decode(errors="replace")
    assert [line for line in ERROR_LINES if line in after] == [], after.decode(errors="replace")
    assert b"worker: Warm shutdown (MainProcess)" in after
    for name in (b"web", b"worker", b"smtp"):
        assert re.search(rb"\b" + name + rb"\.1 stopped \(rc=", after), after.decode(
            errors="replace"
        )


def test_embedded_worker_enforces_the_task_time_limit(tmp_path: Path) -> None:
    """The worker exactly as the Procfile starts it (beat aside: this test has no database to
    schedule against), with a 3 s hard limit, and a task that ignores its soft limit."""
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    env = embedded_env(tmp_path)
    env.update(
        CELERY_BROKER_URL=broker, CELERY_TASK_TIME_LIMIT="3", CELERY_TASK_SOFT_TIME_LIMIT="1"
    )
    options = procfile_worker_options()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "scripts/run_worker.py", *options, "--include", SLOW_TASKS],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(log_path, b"ready.", 120)
        Celery(broker=broker).send_task(f"{SLOW_TASKS}.sleep_past_the_time_limit", [30])
        wait_for(log_path, b"Hard time limit (3s) exceeded", 60)
        worker.send_signal(signal.SIGTERM)  # what honcho sends on Ctrl-C
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log_path.read_bytes()
    assert b"Soft time limit (1s) exceeded" in text
    assert b"worker: Warm shutdown (MainProcess)" in text


SLOW_TASKS = "tests.support.slow_tasks"


def procfile_worker_options() -> list[str]:
    """The worker's options in the Procfile, without the embedded beat and its schedule."""
    line = next(
        line.split(": ", 1)[1]
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith("worker: ")
    )
    words = line.split()
    options = words[words.index("scripts/run_worker.py") + 1 :]
    schedule = options.index("--schedule")
    del options[schedule : schedule + 2]
    options.remove("--beat")
    assert options[:2] == ["--pool", "prefork"]
    return options


def wait_for(path: Path, text: bytes, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_bytes():
        assert time.monotonic() < deadline, path.read_text(errors="replace")
        time.sleep(0.2)
