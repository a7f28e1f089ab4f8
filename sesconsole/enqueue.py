"""Queue Celery work after the current transaction commits, without failing the request.

The saved rows are the source of truth: if the broker is down, the identity is still saved
and the periodic sweeps (DNS checks, key generation, pending mails) pick the work up later.
A request must never answer 500 because a queue was unreachable.

Domain code names the task it queues ("identities.tasks.check_identity_now", see each app's
`queue` module) instead of importing it: tasks import domain code, so domain code importing
tasks would be a cycle. Tasks are the leaves; only they (and the beat schedule) hold the
task objects.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError
from kombu.utils.imports import symbol_by_name

log = logging.getLogger(__name__)


def task_named(name: str) -> Task:
    """The task registered as `name` (module path and function name, Celery's default).

    Resolved here rather than sent with `app.send_task(name)` so the task's own options
    (eager mode in tests and debugging, expiry, routing) apply exactly as with `task.delay`.
    """
    task = symbol_by_name(name)
    if not isinstance(task, Task) or task.name != name:
        raise LookupError(f"{name} is not a Celery task registered under that name.")
    return task


def send_now(task: Task | str, **kwargs: Any) -> bool:
    """Publish `task` (a task or its name) with keyword arguments; False if the broker is down."""
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.apply_async(kwargs=kwargs)
    except (OperationalError, OSError) as exc:
        log.warning("could not queue %s%s; a sweep will retry: %s", task.name, kwargs, exc)
        return False
    return True


def enqueue_after_commit(task: Task | str, **kwargs: Any) -> None:
    # A partial, not a lambda, so tests can see which task a captured callback queues.
    transaction.on_commit(partial(send_now, task, **kwargs))
