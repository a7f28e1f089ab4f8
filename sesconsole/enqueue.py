"""Queue Celery work after the current transaction commits, without failing the request.

The saved rows are the source of truth: if the broker is down, the identity is still saved
and the periodic sweeps (DNS checks, key generation, pending mails) pick the work up later.
A request must never answer 500 because a queue was unreachable.

Domain code names the task it queues ("identities.tasks.check_identity_now", see each app's
`queue` module) instead of importing it: tasks import domain code, so domain code importing
tasks would be a cycle. Tasks are the leaves; only they (and the beat schedule) hold the
task objects.

`publish_in_background_after_commit` is for work whose row a sweep re-queues anyway (message
delivery, a new identity's first work): the caller's answer does not wait for the broker, one
publisher thread per process publishes it (docs/design.md, "Hot paths").
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
from collections import deque
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


def publish_in_background_after_commit(task: Task | str, **kwargs: Any) -> None:
    """Like `enqueue_after_commit`, but the publish runs on this process's publisher thread.

    Only for work a sweep re-queues from its row when the publish is lost (the process dies
    first, the broker is down, the backlog is full). In eager mode (tests, debugging) the task
    runs at commit, as with `enqueue_after_commit`.
    """
    if isinstance(task, str):
        task = task_named(task)
    if task.app.conf.task_always_eager:
        transaction.on_commit(partial(send_now, task, **kwargs))
    else:
        transaction.on_commit(partial(_publisher.hand_over, task, kwargs))


def wait_for_background_publishes(timeout: float = 10.0) -> bool:
    """Block until the publisher thread has published everything handed to it (tests read the
    broker afterwards; a process that stops waits here at exit). False on timeout."""
    return _publisher.wait_until_idle(timeout)


class _Publisher:
    """One daemon thread per process publishing what `hand_over` queued, oldest first.

    A publish costs ~0.4 ms of CPU and a broker round trip (~1 ms on the loaded development
    machine): the SMTP server's reply to DATA waited for both before (BENCHMARKS.md, issue 16).
    The backlog is bounded: past BACKLOG the work is left to the sweep, with a warning.
    """

    BACKLOG = 10_000

    def __init__(self) -> None:
        self._start_afresh()
        # A forked child (a web or Celery worker) has the parent's objects but not its thread,
        # and a lock the thread held at the fork would stay held: the child starts afresh.
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._changed = threading.Condition()
        self._pending: deque[tuple[Task, dict[str, Any], contextvars.Context]] = deque()
        self._publishing = False
        self._started = False

    def hand_over(self, task: Task, kwargs: dict[str, Any]) -> None:
        with self._changed:
            if not self._started:
                threading.Thread(target=self._run, name="celery-publisher", daemon=True).start()
                self._started = True
            if len(self._pending) >= self.BACKLOG:
                log.warning("publisher backlog full; %s%s is left to the sweep", task.name, kwargs)
                return
            # The caller's context goes along: the request id its message carries (sesconsole.logs).
            self._pending.append((task, kwargs, contextvars.copy_context()))
            self._changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._publishing, timeout
            )

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending))
                task, kwargs, context = self._pending.popleft()
                self._publishing = True
            try:
                context.run(partial(send_now, task, **kwargs))
            except Exception:
                log.exception("could not queue %s%s; a sweep will retry", task.name, kwargs)
            finally:
                with self._changed:
                    self._publishing = False
                    self._changed.notify_all()


_publisher = _Publisher()
# A process that stops (the SMTP server on SIGTERM, a web worker recycled) publishes what it
# accepted first, rather than leaving it to the sweep minutes later.
atexit.register(wait_for_background_publishes, 5.0)
