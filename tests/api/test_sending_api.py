"""SES v2 SendEmail through boto3 against a live server: shapes, errors, delivery to a relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from identities.models import Identity
from sending.models import SentMessage, Status
from sesconsole.celery import app as celery_app
from tests.api.conftest import error_of
from tests.support.smtp_server import SmtpSink


@pytest.fixture
def eager() -> Iterator[None]:
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def simple(subject: str = "Hello", text: str = "Hi there.") -> dict[str, Any]:
    return {"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}}


def test_send_email_simple_is_relayed_with_its_message_id(
    ses: Any,
    verified_domain: Callable[..., Identity],
    production: None,
    relay: SmtpSink,
    eager: None,
) -> None:
    verified_domain("example.com")
    answer = ses.send_email(
        FromEmailAddress="Sender <sender@example.com>",
        Destination={"ToAddresses": ["someone@elsewhere.test"]},
        Content=simple(),
    )
    message_id = answer["MessageId"]
    assert SentMessage.objects.get(message_id=message_id).status == Status.DELIVERED
    [envelope] = relay.handler.envelopes
    assert envelope.mail_from == f"{message_id}@amazonses.com"
    assert envelope.rcpt_tos == ["someone@elsewhere.test"]
    [received] = relay.messages
    assert received["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert received["From"] == "Sender <sender@example.com>"


def test_send_email_unverified_sender_is_message_rejected(ses: Any) -> None:
    with pytest.raises(ses.exceptions.MessageRejected) as exc_info:
        ses.send_email(
            FromEmailAddress="sender@nowhere.test",
            Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
            Content=simple(),
        )
    assert error_of(exc_info) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: sender@nowhere.test",
        400,
    )


def test_send_email_template_content_is_not_supported_yet(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.send_email(
            FromEmailAddress="sender@example.com",
            Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
            Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        )
    assert error_of(exc_info) == (
        "BadRequestException",
        "Email templates are not supported yet: send Simple or Raw content instead.",
        400,
    )
