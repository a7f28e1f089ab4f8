"""`make run`'s Ctrl-C: honcho (as `make run` starts it) stops the web server and the embedded
worker + beat cleanly — no traceback, no pool worker killed mid-task, no SIGKILL."""

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
    port = free_port()
    # The project's Procfile on a free port, with its files in a fresh var directory.
    procfile = (BASE_DIR / "Procfile").read_text()
    procfile = procfile.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    procfile = procfile.replace("var/celerybeat-schedule", str(tmp_path / "celerybeat-schedule"))
    (tmp_path / "Procfile").write_text(procfile)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["SESCONSOLE_VAR_DIR"] = str(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    command = [sys.executable, str(RUN_PROCESSES), "start", "-f", str(tmp_path / "Procfile")]
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
    assert returncode == 130, log  # honcho's code for "stopped by SIGINT"
    assert took < 15, log  # the grace scripts/run_processes.py gives before a SIGKILL
    for problem in ("Traceback", "SIGKILL", "exited with 'signal", "ERROR"):
        assert problem not in log, log
    assert "worker.1 stopped" in log
