"""`make run`'s Ctrl-C: honcho (as `make run` starts it) stops the web server and the embedded
worker + beat cleanly — no traceback, no pool worker killed mid-task, no SIGKILL — and exits
0. Without a terminal here (tests/test_make_run.py drives `make run` in a pseudo-terminal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.celery_worker import BASE_DIR, wait_for
from tests.support.knot import free_port

pytestmark = pytest.mark.services

RUN_PROCESSES = BASE_DIR / "scripts" / "run_processes.py"


def test_ctrl_c_stops_make_run_cleanly(tmp_path: Path) -> None:
    # The project's Procfile on free ports, with its files in a fresh var directory.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        SESCONSOLE_VAR_DIR=str(tmp_path),
        CONSOLE_PORT=str(free_port()),
        SMTP_PORT=str(free_port()),
        SMTP_TLS_PORT="0",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    command = [sys.executable, str(RUN_PROCESSES), "start", "-f", str(BASE_DIR / "Procfile")]
    command += ["-d", str(BASE_DIR)]
    log_path = tmp_path / "honcho.log"
    with log_path.open("wb") as log:
        honcho = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the SIGINT below is a terminal's Ctrl-C
        )
    try:
        wait_for(lambda: " ready." in log_path.read_text(errors="replace"), 60, "celery ready")
        wait_for(
            lambda: "Starting development server" in log_path.read_text(errors="replace"),
            30,
            "runserver",
        )
        started = time.monotonic()
        os.killpg(honcho.pid, signal.SIGINT)
        returncode = honcho.wait(timeout=15)
        took = time.monotonic() - started
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
    log = log_path.read_text(errors="replace")
    assert returncode == 0, log  # Ctrl-C and a clean stop: nothing for make to report
    assert took < 15, log  # the grace scripts/run_processes.py gives before a SIGKILL
    for problem in ("Traceback", "SIGKILL", "exited with 'signal", "ERROR"):
        assert problem not in log, log
    assert "worker.1 stopped" in log
