"""SendEmail and SendRawEmail through boto3's v1 client, and django-ses as a real client: its
email backend sends through sesconsole, the message arrives at the relay DKIM-signed and
verifies against the Knot server; its management command verifies and lists addresses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_ses
import dkim
import pytest
from botocore.exceptions import ClientError
from django.core.mail import EmailMessage
from django_ses.management.commands import ses_email_address

from identities.models import Identity
from sending import delivery
from sending.models import SentMessage, Status
from tests.sending.test_delivery import knot_dnsfunc, publish
from tests.support import dns_fixtures
from tests.support.knot import KnotServer
from tests.support.smtp_server import SmtpSink

from ..conftest import KeyPair, error_of

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone

RAW = (
    b"From: Sender <sender@example.com>\r\nTo: someone@elsewhere.test\r\n"
    b"Subject: Raw hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHi.\r\n"
)


def simple(**kwargs: Any) -> dict[str, Any]:
    return {
        "Source": "Sender <sender@example.com>",
        "Destination": {"ToAddresses": ["success@simulator.amazonses.com"]},
        "Message": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hi there."}}},
        **kwargs,
    }


def test_send_email_from_verified_domain(v1: Any, verified_domain: Callable[..., Identity]) -> None:
    verified_domain("example.com")

    message_id = v1.send_email(**simple())["MessageId"]

    assert SentMessage.objects.get(message_id=message_id).subject == "Hello"


def test_send_email_unverified_sender_is_message_rejected(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.send_email(**simple())

    assert exc_info.value.__class__.__name__ == "MessageRejected"
    assert error_of(exc_info) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: Sender <sender@example.com>, sender@example.com",
        400,
    )


def test_send_email_sandbox_recipient_is_message_rejected(
    v1: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.send_email(**simple(Destination={"ToAddresses": ["someone@elsewhere.test"]}))

    code, message, _ = error_of(exc_info)
    assert code == "MessageRejected"
    assert message.endswith("someone@elsewhere.test")


def test_send_email_missing_configuration_set(
    v1: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.send_email(**simple(ConfigurationSetName="nope"))

    assert exc_info.value.__class__.__name__ == "ConfigurationSetDoesNotExistException"
    assert exc_info.value.response["Error"]["ConfigurationSetName"] == "nope"


def test_send_raw_email_with_destinations(
    v1: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")

    message_id = v1.send_raw_email(
        RawMessage={"Data": RAW}, Destinations=["someone@elsewhere.test"]
    )["MessageId"]

    assert SentMessage.objects.get(message_id=message_id).subject == "Raw hello"
    assert v1.get_send_quota()["SentLast24Hours"] == 1.0


def test_send_raw_email_without_from_is_invalid(
    v1: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.send_raw_email(RawMessage={"Data": b"Subject: x\r\n\r\nbody\r\n"})

    assert error_of(exc_info)[0] == "InvalidParameterValue"


def test_send_raw_email_over_10_mb_is_refused(
    v1: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    big = RAW + b"x" * (10 * 1024 * 1024)

    with pytest.raises(ClientError) as exc_info:
        v1.send_raw_email(RawMessage={"Data": big})

    code, message, _ = error_of(exc_info)
    assert code == "InvalidParameterValue"
    assert message.startswith("Message is too long")


def test_send_raw_email_takes_bodies_over_the_site_limit(
    v1: Any, verified_domain: Callable[..., Identity], production: None, settings: Any
) -> None:
    """The 10 MB a v1 message may have is ~14 MB form-encoded: more than other actions take."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    verified_domain("example.com")
    raw = RAW + (b"x" * 98 + b"\r\n") * 1000

    message_id = v1.send_raw_email(
        RawMessage={"Data": raw}, Destinations=["someone@elsewhere.test"]
    )["MessageId"]

    assert bytes(SentMessage.objects.get(message_id=message_id).mime).endswith(b"x\r\n")


def test_other_actions_keep_the_site_body_limit(v1: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    with pytest.raises(ClientError) as exc_info:
        v1.verify_email_identity(EmailAddress="a" * 70_000 + "@example.com")

    code, message, status = error_of(exc_info)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message.endswith(
        "bytes and at most 65,536 are accepted. Only SendEmail and SendRawEmail take larger "
        "requests."
    )


def test_django_ses_backend_sends_dkim_signed_mail(
    live_server: Any,
    owner_key: KeyPair,
    dns_zone: KnotServer,
    dkim_domain: Identity,
    production: None,
    relay: SmtpSink,
) -> None:
    publish(dns_zone, dkim_domain)
    backend = django_ses.SESBackend(
        aws_access_key=owner_key.access_key_id,
        aws_secret_key=owner_key.secret,
        aws_region_name="us-east-1",
        aws_region_endpoint=live_server.url,
    )

    sent = EmailMessage(
        "Hello from Django",
        "Sent by django-ses.",
        "Django <sender@example.com>",
        ["someone@elsewhere.test"],
        connection=backend,
    ).send()

    assert sent == 1
    message = SentMessage.objects.get()
    assert delivery.deliver(message.pk) == Status.DELIVERED
    [envelope] = relay.handler.envelopes
    assert envelope.rcpt_tos == ["someone@elsewhere.test"]
    assert relay.messages[0]["Subject"] == "Hello from Django"
    assert "d=example.com" in relay.messages[0]["DKIM-Signature"]
    assert dkim.verify(envelope.content, dnsfunc=knot_dnsfunc(dns_zone))


def test_django_ses_management_command_adds_and_lists_addresses(
    live_server: Any, owner_key: KeyPair, settings: Any, capsys: Any
) -> None:
    # django-ses's own settings, as a project using it sets them.
    settings.AWS_SES_ACCESS_KEY_ID = owner_key.access_key_id
    settings.AWS_SES_SECRET_ACCESS_KEY = owner_key.secret
    settings.AWS_SES_REGION_NAME = "us-east-1"
    settings.AWS_SES_REGION_ENDPOINT_URL = live_server.url
    command = ses_email_address.Command()

    command.handle(add="new@example.com", verbosity="0")
    Identity.objects.filter(name="new@example.com").get().mark_verified()
    command.handle(list=True, verbosity="0")

    assert capsys.readouterr().out.splitlines() == ["new@example.com"]


def test_send_raw_email_with_a_nul_in_its_headers_is_invalid(
    v1: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")
    raw = RAW.replace(b"Subject: Raw hello", b"Subject: Raw\x00hello")

    with pytest.raises(ClientError) as exc_info:
        v1.send_raw_email(RawMessage={"Data": raw})

    assert error_of(exc_info) == (
        "InvalidParameterValue",
        "Line 3 of the raw message's header section contains a NUL byte. Remove it: header "
        "fields must be text.",
        400,
    )
    assert SentMessage.objects.count() == 0
