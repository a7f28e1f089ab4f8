"""Queuing by task name (sesconsole.enqueue): domain code names tasks instead of importing them."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery

from identities import queue
from sending.queue import DELIVER_MESSAGE, DELIVER_MESSAGES
from sesconsole import enqueue, logs
from sesconsole.celery import app as celery_app
from sesconsole.enqueue import (
    publish_batched_in_background_after_commit,
    publish_in_background_after_commit,
    task_named,
    wait_for_background_publishes,
)
from verification import flows


@pytest.mark.parametrize("name", [*queue.TASK_NAMES, flows.SEND_VERIFICATION_EMAIL])
def test_every_queued_name_is_a_registered_task(name: str) -> None:
    assert task_named(name).name == name


def test_a_name_that_is_not_a_task_is_refused() -> None:
    with pytest.raises(LookupError) as exc_info:
        task_named("identities.queue.check_now")  # a function, not a task

    assert str(exc_info.value) == (
        "identities.queue.check_now is not a Celery task registered under that name."
    )


@pytest.mark.django_db
def test_a_background_publish_reaches_the_broker_after_commit(
    queued_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    task = task_named(DELIVER_MESSAGE)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish_in_background_after_commit(task, sent_message_id=7)
    assert queued_tasks() == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert wait_for_background_publishes()
    assert queued_tasks() == [(DELIVER_MESSAGE, {"sent_message_id": 7})]


@pytest.mark.django_db
def test_a_failing_publish_leaves_the_publisher_running(
    queued_tasks: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = task_named(DELIVER_MESSAGE)
    calls = []

    def broken(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs)
        raise RuntimeError("broker exploded")

    monkeypatch.setattr(task, "apply_async", broken)
    with django_capture_on_commit_callbacks(execute=True):
        publish_in_background_after_commit(task, sent_message_id=1)
    assert wait_for_background_publishes()
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        publish_in_background_after_commit(task, sent_message_id=2)

    assert (calls, queued_tasks()) == (
        [{"kwargs": {"sent_message_id": 1}}],
        [(DELIVER_MESSAGE, {"sent_message_id": 2})],
    )


@pytest.mark.django_db
def test_items_handed_over_together_share_a_message_each_with_its_request_id(
    queued_tasks: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long linger: only full batches go before the last one, however slow the machine.
    monkeypatch.setattr(enqueue._Publisher, "LINGER", 2.0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in range(25):
            token = logs.request_id_var.set(f"req-{n}")
            publish_batched_in_background_after_commit(DELIVER_MESSAGES, n)
            logs.request_id_var.reset(token)
    assert queued_tasks() == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert wait_for_background_publishes()
    items = [[n, f"req-{n}"] for n in range(25)]
    assert queued_tasks() == [
        (DELIVER_MESSAGES, {"items": items[:10]}),
        (DELIVER_MESSAGES, {"items": items[10:20]}),
        (DELIVER_MESSAGES, {"items": items[20:]}),
    ]


@pytest.mark.django_db
def test_a_lone_item_waits_no_longer_than_the_linger(
    queued_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        publish_batched_in_background_after_commit(DELIVER_MESSAGES, 7)
    assert wait_for_background_publishes(timeout=1.0)
    assert queued_tasks() == [(DELIVER_MESSAGES, {"items": [[7, None]]})]


@pytest.mark.django_db
def test_a_batch_is_published_when_another_celery_app_is_current_where_it_was_handed_over(
    queued_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A shared task is a proxy to the current app's task, and the current app is per thread
    # (a test that creates a Celery app makes it current in its thread): the publisher must not
    # rely on the proxy resolving alike in the handing-over thread and in its own.
    task = task_named(DELIVER_MESSAGES)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish_batched_in_background_after_commit(task, 5)
    Celery("elsewhere", set_as_current=True).finalize()
    try:
        for callback in callbacks:
            callback()
    finally:
        celery_app.set_current()  # not task.app: the proxy now resolves to "elsewhere"
    assert wait_for_background_publishes()
    assert queued_tasks() == [(DELIVER_MESSAGES, {"items": [[5, None]]})]
