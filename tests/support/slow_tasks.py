"""A task that outlives its soft time limit on purpose, for the test that the embedded
worker (scripts/run_worker.py, prefork) enforces the hard one. Loaded only by that test's
worker (`--include tests.support.slow_tasks`)."""

from __future__ import annotations

import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task
def sleep_past_the_time_limit(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except SoftTimeLimitExceeded:
            continue  # ignored on purpose: only the hard limit can stop this task
