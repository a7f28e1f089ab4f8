"""Queue delivery by task name: tasks import the send code, so the send code can't import them."""

from __future__ import annotations

from celery import Task
from kombu.utils.imports import symbol_by_name

from sesconsole.enqueue import publish_in_background_after_commit, send_now

DELIVER_MESSAGE = "sending.tasks.deliver_message"


def _task(name: str) -> Task:
    task = symbol_by_name(name)
    assert isinstance(task, Task)
    return task


def deliver_after_commit(sent_message_id: int) -> None:
    """The reply to the sender does not wait for the broker: the message is committed, and
    the sweep queues it again if this publish is lost (sending.delivery.QUEUED_STALL)."""
    publish_in_background_after_commit(_task(DELIVER_MESSAGE), sent_message_id=sent_message_id)


def deliver_now(sent_message_id: int) -> bool:
    """For the sweep, outside any transaction: False when the broker is down."""
    return send_now(_task(DELIVER_MESSAGE), sent_message_id=sent_message_id)
