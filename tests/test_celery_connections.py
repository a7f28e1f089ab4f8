"""A Celery worker keeps its database connection from one task to the next, and replaces one the
server ended, as a web worker does between requests (settings.CELERY_DB_REUSE_MAX and
sesconsole.celery's handlers around each task).

Each test runs what a worker process runs around two tasks: Celery's Django fixup (which a
worker installs; here built by hand) and the task_prerun / task_postrun signals."""

from __future__ import annotations

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from sending.tasks import deliver_message
from sesconsole.celery import app
from tests.test_postgresql_backend import (  # noqa: F401 (fixture)
    backend_pid,
    end_backend,
    persistent_connection,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("persistent_connection"),
]


def around_a_task(fixup: DjangoWorkerFixup) -> int:
    """One task in a worker: the fixup and the signals before and after; its backend's pid."""
    task = deliver_message  # its request, outside eager mode, is not eager
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    pid = backend_pid()
    fixup.on_task_postrun(sender=task)
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)
    return pid


def test_tasks_share_one_database_connection() -> None:
    fixup = DjangoWorkerFixup(app)
    pids = [around_a_task(fixup) for _ in range(3)]
    assert len(set(pids)) == 1


def test_a_connection_the_server_ended_is_replaced_at_the_next_task() -> None:
    fixup = DjangoWorkerFixup(app)
    first = around_a_task(fixup)
    end_backend(first)
    connection.used_at = time.monotonic() - 1  # type: ignore[attr-defined]  # idle a second

    assert around_a_task(fixup) != first  # pinged, found dead, replaced: no error


def test_an_obsolete_connection_is_closed_after_its_task() -> None:
    connection.settings_dict["CONN_MAX_AGE"] = 0  # DATABASE_CONN_MAX_AGE=0: one per task
    fixup = DjangoWorkerFixup(app)
    around_a_task(fixup)
    assert connection.connection is None
