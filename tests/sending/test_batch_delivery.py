"""deliver_messages, the task the publisher thread queues for the messages handed over together
(sesconsole.enqueue): each message is delivered once, its log lines carry its own request id,
and one that fails transiently is retried alone, as deliver_message's first retry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from identities.models import Identity
from sending import tasks
from sending.models import SentMessage, Status
from sending.operations import send
from sending.queue import DELIVER_MESSAGE
from sesconsole import logs
from tests.support.broker import drain_published
from tests.support.smtp_server import Collector, SmtpSink

BUSY = "busy@elsewhere.test"


@dataclass
class BusyMailbox(Collector):
    """Answers 450 (try again later) to RCPT TO the busy address while `busy` is set."""

    busy: bool = True

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.busy and address == BUSY:
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def sent(
    verified_domain: Callable[..., Identity], production: None, outgoing: Callable[..., Any]
) -> Callable[[str], SentMessage]:
    """Accept a message from example.com to `recipient` (inside the test's transaction its
    delivery is never published)."""
    verified_domain("example.com")
    return lambda recipient: send(outgoing(to=[recipient]))


@pytest.mark.django_db
def test_each_message_of_a_batch_is_delivered_once_with_its_request_id(
    sent: Callable[[str], SentMessage], relay: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = sent("one@elsewhere.test"), sent("two@elsewhere.test")
    items = [[first.pk, "req-1"], [second.pk, "req-2"]]
    caplog.set_level(logging.INFO, logger="sending.tasks")
    caplog.handler.addFilter(logs.ContextFilter())

    tasks.deliver_messages.apply(kwargs={"items": items})
    tasks.deliver_messages.apply(kwargs={"items": items})  # the batch redelivered (worker lost)

    assert [envelope.rcpt_tos for envelope in relay.handler.envelopes] == [
        ["one@elsewhere.test"],
        ["two@elsewhere.test"],
    ]
    assert [(r.getMessage(), r.request_id) for r in caplog.records if r.name == tasks.__name__] == [
        (f"message {first.pk} delivery: {Status.DELIVERED}", "req-1"),
        (f"message {second.pk} delivery: {Status.DELIVERED}", "req-2"),
        (f"message {first.pk} delivery: nothing to do", "req-1"),
        (f"message {second.pk} delivery: nothing to do", "req-2"),
    ]


@pytest.mark.django_db
def test_a_transient_failure_is_retried_alone_as_deliver_message_first_retry(
    sent: Callable[[str], SentMessage], relay: SmtpSink
) -> None:
    relay.stop()
    relay.handler = mailbox = BusyMailbox()
    relay.start()
    before, busy, after = sent("one@elsewhere.test"), sent(BUSY), sent("two@elsewhere.test")
    drain_published()  # start empty

    tasks.deliver_messages.apply(kwargs={"items": [[m.pk, None] for m in (before, busy, after)]})

    statuses = {m.pk: m.status for m in SentMessage.objects.all()}
    assert statuses == {
        before.pk: Status.DELIVERED,
        busy.pk: Status.QUEUED,
        after.pk: Status.DELIVERED,
    }
    [(headers, kwargs)] = drain_published()
    assert (headers["task"], headers["retries"], kwargs) == (
        DELIVER_MESSAGE,
        1,
        {"sent_message_id": busy.pk},
    )
    assert headers["eta"] is not None  # retry_delay(0) from now

    mailbox.busy = False  # the retry, as the worker runs it when its countdown is over
    tasks.deliver_message.apply(kwargs=kwargs, retries=1)
    assert sorted(envelope.rcpt_tos[0] for envelope in mailbox.envelopes) == [
        BUSY,
        "one@elsewhere.test",
        "two@elsewhere.test",
    ]


@pytest.mark.django_db
def test_in_eager_mode_the_message_is_delivered_at_commit(
    sent: Callable[[str], SentMessage],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tasks.deliver_messages.app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = sent("one@elsewhere.test")
    assert SentMessage.objects.get(pk=message.pk).status == Status.QUEUED

    for callback in callbacks:
        callback()
    assert SentMessage.objects.get(pk=message.pk).status == Status.KEPT  # embedded mode
