"""Queue Celery work after the current transaction commits, without failing the request.

The saved rows are the source of truth: if the broker is down, the identity is still saved
and the periodic sweeps (DNS checks, key generation, pending mails) pick the work up later.
A request must never answer 500 because a queue was unreachable.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def send_now(task: Task, **kwargs: Any) -> bool:
    try:
        task.apply_async(kwargs=kwargs)
    except (OperationalError, OSError) as exc:
        log.warning("could not queue %s%s; a sweep will retry: %s", task.name, kwargs, exc)
        return False
    return True


def enqueue_after_commit(task: Task, **kwargs: Any) -> None:
    # A partial, not a lambda, so tests can see which task a captured callback queues.
    transaction.on_commit(partial(send_now, task, **kwargs))
