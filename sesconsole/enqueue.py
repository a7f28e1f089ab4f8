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
`publish_batched_in_background_after_commit` does the same for work handed over many times a
second (message delivery): what is handed over while the thread is busy, or within 50 ms,
travels as one message (one publish costs 0.4–1.3 ms of CPU, BENCHMARKS.md).
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
import time
from collections import deque
from functools import cache, partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError
from kombu.utils.imports import symbol_by_name

from sesconsole.logs import current_request_id

log = logging.getLogger(__name__)


@cache
def task_named(name: str) -> Task:
    """The task registered as `name` (module path and function name, Celery's default).

    Resolved here rather than sent with `app.send_task(name)` so the task's own options
    (eager mode in tests and debugging, expiry, routing) apply exactly as with `task.delay`.
    Cached: every accepted message resolves its delivery task, and the import lookup with its
    checks took about 17 µs a call.
    """
    task = symbol_by_name(name)
    if not isinstance(task, Task) or task.name != name:
        raise LookupError(f"{name} is not a Celery task registered under that name.")
    return task


def send_now(task: Task | str, options: dict[str, Any] | None = None, **kwargs: Any) -> bool:
    """Publish `task` (a task or its name) with keyword arguments and `apply_async`'s
    `options` (countdown...); False if the broker is down."""
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.apply_async(kwargs=kwargs, **(options or {}))
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


def publish_batched_in_background_after_commit(task: Task | str, item: Any) -> None:
    """Like `publish_in_background_after_commit`, for a task that takes a list of items: the
    publisher thread publishes the items handed over for `task` together, at most MAX_BATCH to
    a message, as `task(items=[[item, request_id], ...])`. Each item carries the request id of
    its caller (sesconsole.logs), which one message's header could not. `item` must be JSON.
    In eager mode the task runs at commit with this one item.
    """
    if isinstance(task, str):
        task = task_named(task)
    entry = [item, current_request_id()]
    if task.app.conf.task_always_eager:
        transaction.on_commit(partial(send_now, task, items=[entry]))
    else:
        transaction.on_commit(partial(_publisher.hand_over_item, task, entry))


def wait_for_background_publishes(timeout: float = 10.0) -> bool:
    """Block until the publisher thread has published everything handed to it (tests read the
    broker afterwards; a process that stops waits here at exit). False on timeout."""
    return _publisher.wait_until_idle(timeout)


class _Publisher:
    """One daemon thread per process publishing what `hand_over` queued, oldest first, and what
    `hand_over_item` queued in batches.

    A publish costs 0.4 ms of CPU in a burst, over 1 ms when they come one at a time, and a
    broker round trip (~1 ms on the loaded development machine): the SMTP server's reply to
    DATA waited for all of it before (BENCHMARKS.md, issue 16). Items wait until the first of
    them is LINGER old (unless MAX_BATCH are there) so that several share a publish even when
    they arrive one at a time: one SMTP connection hands a message over every 3–12 ms on the
    development machines, so a linger of 10 ms merged one or two and its publisher thread cost
    1.8 ms of CPU per message at 90 messages/s; 50 ms costs 0.6 ms, and adds at most 50 ms to a
    delivery that waits on a worker and a relay anyway (BENCHMARKS.md, "Tenth session: the
    publisher's linger").
    A batch is kept small so that the batches of a burst still spread over every worker
    process, and so that a batch against a relay that hangs stays within the task time limit
    (MAX_BATCH x EMAIL_TIMEOUT).
    The backlog is bounded: past BACKLOG the work is left to the sweep, with a warning.
    """

    BACKLOG = 10_000
    MAX_BATCH = 10
    LINGER = 0.05

    def __init__(self) -> None:
        self._start_afresh()
        # A forked child (a web or Celery worker) has the parent's objects but not its thread,
        # and a lock the thread held at the fork would stay held: the child starts afresh.
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._changed = threading.Condition()
        self._pending: deque[tuple[Task, dict[str, Any], contextvars.Context]] = deque()
        # By task name: a shared task is a proxy whose hash follows the current app, which a
        # thread (a test's live server) may change between the hand-over and the publish.
        self._items: dict[str, tuple[Task, list[Any]]] = {}
        self._first_item_at = 0.0
        self._publishing = False
        self._started = False

    def hand_over(self, task: Task, kwargs: dict[str, Any]) -> None:
        with self._changed:
            if self._admit(task, kwargs):
                # The caller's context goes along: the request id its message carries.
                self._pending.append((task, kwargs, contextvars.copy_context()))
                self._changed.notify_all()

    def hand_over_item(self, task: Task, item: Any) -> None:
        with self._changed:
            if self._admit(task, item):
                if not self._items:
                    self._first_item_at = time.monotonic()
                _, items = self._items.setdefault(task.name, (task, []))
                items.append(item)
                # Only the first item (the thread may be waiting for work) and a full batch
                # (it may be lingering) need the thread: a wake-up for nothing costs CPU.
                if len(items) == 1 or len(items) >= self.MAX_BATCH:
                    self._changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._has_work() and not self._publishing, timeout
            )

    def _admit(self, task: Task, work: Any) -> bool:
        """Start the thread on first use; refuse past BACKLOG. Called holding the lock."""
        if not self._started:
            threading.Thread(target=self._run, name="celery-publisher", daemon=True).start()
            self._started = True
        backlog = len(self._pending) + sum(len(items) for _, items in self._items.values())
        if backlog >= self.BACKLOG:
            log.warning("publisher backlog full; %s %s is left to the sweep", task.name, work)
            return False
        return True

    def _has_work(self) -> bool:
        return bool(self._pending or self._items)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(self._has_work)
                self._linger()
                task, kwargs, context = self._take()
                self._publishing = True
            try:
                context.run(partial(send_now, task, **kwargs))
            except Exception:
                log.exception("could not queue %s%s; a sweep will retry", task.name, kwargs)
            finally:
                with self._changed:
                    self._publishing = False
                    self._changed.notify_all()

    def _linger(self) -> None:
        """With only items pending, wait (lock released) until the first is LINGER old or a
        batch is full. Called holding the lock."""
        if self._pending:
            return
        deadline = self._first_item_at + self.LINGER
        self._changed.wait_for(self._a_batch_is_full, max(0.0, deadline - time.monotonic()))

    def _a_batch_is_full(self) -> bool:
        return any(len(items) >= self.MAX_BATCH for _, items in self._items.values())

    def _take(self) -> tuple[Task, dict[str, Any], contextvars.Context]:
        """The next publish: the oldest single one, else a batch. Called holding the lock."""
        if self._pending:
            return self._pending.popleft()
        name, (task, items) = next(iter(self._items.items()))
        batch, rest = items[: self.MAX_BATCH], items[self.MAX_BATCH :]
        if rest:
            self._items[name] = (task, rest)
        else:
            del self._items[name]
        # An empty context: the request ids travel in the items, not in the message's header.
        return task, {"items": batch}, contextvars.Context()


_publisher = _Publisher()
# A process that stops (the SMTP server on SIGTERM, a web worker recycled) publishes what it
# accepted first, rather than leaving it to the sweep minutes later.
atexit.register(wait_for_background_publishes, 5.0)
