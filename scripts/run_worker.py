"""`make run`'s Celery worker: the prefork pool, so that task time limits are enforced, in a
process group of its own, so that a stop is a warm shutdown.

honcho stops a process by sending SIGTERM to the process's whole group. Started straight
from the Procfile, the worker's pool children would get that signal too and die mid-task
(the reason the embedded worker used to run its tasks in threads, where time limits are not
enforced). Here the worker runs in a session of its own: honcho's SIGTERM reaches this
launcher only, which passes it to the worker's main process alone. Celery then does a warm
shutdown: running tasks finish (within their time limit), then the pool and the embedded
beat stop. A worker still running STOP_WAIT_SECONDS later gets SIGKILL with its children, so
nothing outlives `make run` (honcho's own SIGKILL, at 15 s, would reach only this launcher).

Usage (the Procfile): python scripts/run_worker.py <celery worker options>
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

CELERY = str(Path(sys.executable).with_name("celery"))
STOP_WAIT_SECONDS = 12


def run_worker(options: list[str]) -> int:
    worker = subprocess.Popen(
        [CELERY, "-A", "sesconsole", "worker", *options], start_new_session=True
    )
    stop_requested_at: list[float] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stop_requested_at:
            stop_requested_at.append(time.monotonic())
            worker.send_signal(signal.SIGTERM)  # the main process only: a warm shutdown

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            return worker.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if stop_requested_at and time.monotonic() - stop_requested_at[0] > STOP_WAIT_SECONDS:
                os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(run_worker(sys.argv[1:]))
