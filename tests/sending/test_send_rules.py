"""The rules of sending.operations.send, called directly (entry points are tested on their own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account, Region
from identities.models import Identity, VerificationStatus
from sending.errors import RefusalKind, SendRefused
from sending.models import SentMessage, Status
from sending.operations import send


def refusal(call: Callable[[], Any]) -> tuple[RefusalKind, str]:
    with pytest.raises(SendRefused) as exc_info:
        call()
    return exc_info.value.kind, exc_info.value.message


@pytest.mark.django_db
def test_send_from_verified_domain_stores_and_queues(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any], queued_tasks: Any
) -> None:
    domain = verified_domain("example.com")
    message = send(outgoing())
    stored = SentMessage.objects.get(pk=message.pk)
    assert stored.status == Status.QUEUED
    assert stored.identity == domain
    assert stored.recipients == ["success@simulator.amazonses.com"]
    assert stored.simulator_outcomes == {"success@simulator.amazonses.com": "success"}
    assert f"Message-ID: <{message.message_id}@email.amazonses.com>".encode() in bytes(stored.mime)
    assert stored.envelope_from == f"{message.message_id}@amazonses.com"


@pytest.mark.django_db
def test_send_from_unverified_address_is_rejected_with_ses_text(
    outgoing: Callable[..., Any],
) -> None:
    kind, message = refusal(lambda: send(outgoing(from_address="Jo <jo@nowhere.test>")))
    assert kind == RefusalKind.MESSAGE_REJECTED
    assert message == (
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: Jo <jo@nowhere.test>, jo@nowhere.test"
    )
    assert SentMessage.objects.count() == 0


@pytest.mark.django_db
def test_send_email_identity_case_and_label_rules(
    verified_email: Callable[..., Identity], outgoing: Callable[..., Any], production: None
) -> None:
    verified_email("sender@EXAMPLE.com")
    # SES: "If you verify sender@EXAMPLE.com, you can't send email from sender@example.com";
    # sender+label@ needs no verification of its own.
    assert send(outgoing(from_address="sender+news@EXAMPLE.com")).identity_name == (
        "sender@EXAMPLE.com"
    )
    for other in ("sender@example.com", "Sender@EXAMPLE.com"):
        kind, _ = refusal(lambda other=other: send(outgoing(from_address=other)))
        assert kind == RefusalKind.MESSAGE_REJECTED


@pytest.mark.django_db
def test_temporary_failure_domain_still_sends(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any]
) -> None:
    domain = verified_domain("example.com")
    Identity.objects.filter(pk=domain.pk).update(
        verification_status=VerificationStatus.TEMPORARY_FAILURE
    )
    assert send(outgoing()).identity_name == "example.com"


@pytest.mark.django_db
def test_sandbox_recipient_must_be_verified(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any]
) -> None:
    verified_domain("example.com")
    kind, message = refusal(
        lambda: send(outgoing(to=["a@elsewhere.test", "success@simulator.amazonses.com"]))
    )
    assert kind == RefusalKind.MESSAGE_REJECTED
    assert message.endswith("in region US-EAST-1: a@elsewhere.test")


@pytest.mark.django_db
def test_named_configuration_set_must_exist(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any]
) -> None:
    verified_domain("example.com")
    kind, message = refusal(lambda: send(outgoing(configuration_set_name="nope")))
    assert (kind, message) == (
        RefusalKind.CONFIGURATION_SET_NOT_FOUND,
        "Configuration set nope does not exist.",
    )


@pytest.mark.django_db
def test_sandbox_rate_is_one_per_second(
    verified_domain: Callable[..., Identity],
    outgoing: Callable[..., Any],
    account: Account,
    region: Region,
) -> None:
    import time_machine

    verified_domain("example.com")
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        send(outgoing())
        kind, message = refusal(lambda: send(outgoing()))
        assert (kind, message) == (RefusalKind.RATE_EXCEEDED, "Maximum sending rate exceeded.")
        clock.shift(1.0)
        send(outgoing())


@pytest.mark.django_db
def test_dns_error_on_our_side_never_stops_a_verified_domain(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any]
) -> None:
    from django.utils import timezone

    from identities.models import CheckOutcome

    domain = verified_domain("example.com")
    domain.apply_dns_check(
        dkim=CheckOutcome.DNS_ERROR,
        mail_from=None,
        error="DNS_SERVER_ERROR",
        soa=None,
        now=timezone.now(),
    )
    domain.refresh_from_db()
    assert domain.verification_status == VerificationStatus.TEMPORARY_FAILURE
    assert domain.verified_for_sending  # VerifiedForSendingStatus: "can send"
    assert send(outgoing()).identity_name == "example.com"


@pytest.mark.django_db
def test_feedback_goes_to_the_from_address_unless_forwarding_is_off(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any], production: None
) -> None:
    domain = verified_domain("example.com")
    assert send(outgoing()).feedback_address == "sender@example.com"
    assert (
        send(outgoing(feedback_forwarding_address="bounces@example.com")).feedback_address
        == "bounces@example.com"
    )
    domain.set_feedback_forwarding(False)
    assert send(outgoing()).feedback_address == ""


@pytest.mark.django_db
def test_raw_return_path_must_be_verified_and_picks_the_feedback_address(
    verified_domain: Callable[..., Identity], outgoing: Callable[..., Any], production: None
) -> None:
    verified_domain("example.com")
    raw = (
        b"From: sender@example.com\r\nTo: a@x.test\r\nReturn-Path: <bounces@example.com>\r\n"
        b"Subject: Raw\r\n\r\nBody\r\n"
    )
    message = send(outgoing(from_address=None, simple=None, raw=raw))
    assert message.feedback_address == "bounces@example.com"
    assert b"Return-Path" not in bytes(message.mime)
    unverified = raw.replace(b"bounces@example.com", b"bounces@elsewhere.test")
    kind, text = refusal(lambda: send(outgoing(from_address=None, simple=None, raw=unverified)))
    assert kind == RefusalKind.MESSAGE_REJECTED
    assert text.endswith("US-EAST-1: <bounces@elsewhere.test>, bounces@elsewhere.test")
