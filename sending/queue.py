"""Queue delivery by task name: tasks import the send code, so the send code can't import them."""

from __future__ import annotations

from sesconsole.enqueue import publish_batched_in_background_after_commit, send_now, task_named

DELIVER_MESSAGE = "sending.tasks.deliver_message"
DELIVER_MESSAGES = "sending.tasks.deliver_messages"


def deliver_after_commit(sent_message_id: int) -> None:
    """The reply to the sender does not wait for the broker: the message is committed, and
    the sweep queues it again if this publish is lost (sending.delivery.QUEUED_STALL). The
    messages handed over about the same time share one `deliver_messages` task."""
    publish_batched_in_background_after_commit(task_named(DELIVER_MESSAGES), sent_message_id)


def deliver_now(sent_message_id: int) -> bool:
    """For the sweep, outside any transaction: False when the broker is down."""
    return send_now(task_named(DELIVER_MESSAGE), sent_message_id=sent_message_id)
