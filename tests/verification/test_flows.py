"""Links: 24 h expiry, reuse, tampering, superseding, custom-template clicks, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Account, Region
from identities.models import Identity, IdentityType, VerificationStatus
from sending.tasks import send_verification_email
from sesconsole.validators import NotFoundError
from templates_app.models import CustomVerificationEmailTemplate
from verification import flows
from verification.models import LinkOutcome, MailStatus, VerificationLink
from verification.tasks import expire_verification_requests, start_identity_verification

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def sent_link(identity: Identity, at: datetime) -> tuple[VerificationLink, str]:
    """A link for the identity whose mail went out at `at` (Mailbox backend)."""
    with time_machine.travel(at, tick=False):
        link = VerificationLink.issue(
            account=identity.account,
            region=identity.region,
            email_address=identity.name,
            identity=identity,
        )
        token = link.token()
        send_verification_email.apply(kwargs={"link_id": link.pk})
    link.refresh_from_db()
    assert link.mail_status == MailStatus.SENT
    return link, token


@pytest.fixture
def pending(make_email: Callable[..., Identity]) -> Identity:
    return make_email("sender@example.com")


def test_link_valid_at_23h59_expired_at_24h01(pending: Identity) -> None:
    _, token = sent_link(pending, T0)
    late = flows.confirm(token, now=T0 + timedelta(hours=24, minutes=1))
    assert late.outcome is LinkOutcome.EXPIRED
    assert not late.succeeded
    on_time = flows.confirm(token, now=T0 + timedelta(hours=23, minutes=59))
    assert on_time.outcome is LinkOutcome.VERIFIED
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.SUCCESS


def test_expiry_counts_from_sending_not_from_request(pending: Identity) -> None:
    with time_machine.travel(T0, tick=False):
        link = VerificationLink.issue(
            account=pending.account,
            region=pending.region,
            email_address=pending.name,
            identity=pending,
        )
        token = link.token()
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):  # SMTP was down for 2 hours
        send_verification_email.apply(kwargs={"link_id": link.pk})
    assert flows.confirm(token, now=T0 + timedelta(hours=25)).outcome is LinkOutcome.VERIFIED


def test_no_click_within_24h_fails_the_identity(pending: Identity, time_machine: Any) -> None:
    sent_link(pending, T0)
    time_machine.move_to(T0 + timedelta(hours=23, minutes=59), tick=False)
    expire_verification_requests.apply()
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.PENDING

    time_machine.move_to(T0 + timedelta(hours=24, minutes=1), tick=False)
    expire_verification_requests.apply()
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.FAILED
    assert pending.events.filter(kind="verification_failed").count() == 1
    expire_verification_requests.apply()  # idempotent
    assert pending.events.filter(kind="verification_failed").count() == 1


def test_second_click_is_harmless_and_verifies_nothing_new(pending: Identity) -> None:
    _, token = sent_link(pending, T0)
    first = flows.confirm(token, now=T0 + timedelta(hours=1))
    second = flows.confirm(token, now=T0 + timedelta(hours=2))
    assert (first.outcome, second.outcome) == (LinkOutcome.VERIFIED, LinkOutcome.ALREADY_USED)
    assert second.succeeded
    pending.refresh_from_db()
    assert pending.verified_at == T0 + timedelta(hours=1)  # not touched by the second click

    pending.delete()  # its links go with it: the used link can't bring the address back
    third = flows.confirm(token, now=T0 + timedelta(hours=3))
    assert (third.outcome, third.succeeded) == (LinkOutcome.UNKNOWN, False)
    assert not Identity.objects.filter(name="sender@example.com").exists()


def test_tampered_and_unknown_tokens_verify_nothing(pending: Identity) -> None:
    _, token = sent_link(pending, T0)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, "", "x" * 500, token.upper()):
        assert flows.confirm(bad, now=T0).outcome is LinkOutcome.UNKNOWN
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.PENDING


def test_resend_supersedes_the_older_link(pending: Identity, settings: Any) -> None:
    settings.VERIFICATION_RESEND_INTERVAL = 60
    _, old_token = sent_link(pending, T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        link = flows.resend_verification_email(pending)
    new_token = link.token()
    assert flows.confirm(old_token, now=T0 + timedelta(minutes=6)).outcome is LinkOutcome.SUPERSEDED
    assert flows.confirm(new_token, now=T0 + timedelta(minutes=6)).outcome is LinkOutcome.VERIFIED


def test_resend_is_rate_limited_per_identity(
    pending: Identity, make_email: Callable[..., Identity]
) -> None:
    sent_link(pending, T0)
    other = make_email("other@example.com")
    with time_machine.travel(T0 + timedelta(seconds=20), tick=False):
        with pytest.raises(flows.TooManyRequestsError) as error:
            flows.resend_verification_email(pending)
        VerificationLink.objects.filter(identity=other).update(created_at=T0 - timedelta(hours=1))
        flows.resend_verification_email(other)  # another identity is not affected
    assert error.value.messages == [
        "A verification email was sent to sender@example.com less than 60 seconds ago. Check "
        "the inbox (and the junk folder), or wait 40 seconds and choose Resend again."
    ]
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        flows.resend_verification_email(pending)


def test_resend_restarts_a_failed_identity(pending: Identity) -> None:
    sent_link(pending, T0)
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        expire_verification_requests.apply()
        pending.refresh_from_db()
        assert pending.verification_status == VerificationStatus.FAILED
        flows.resend_verification_email(pending)
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.PENDING


def test_resend_refuses_verified_identities_and_domains(
    pending: Identity, make_domain: Callable[..., Identity]
) -> None:
    pending.mark_verified()
    with pytest.raises(ValidationError, match="already verified; there is nothing to resend"):
        flows.resend_verification_email(pending)
    with pytest.raises(ValidationError, match="Only email address identities"):
        flows.resend_verification_email(make_domain("example.net"))


def test_creating_an_email_identity_queues_the_mail(
    make_email: Callable[..., Identity], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from sending.models import SentMessage

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # the embedded mode
    with django_capture_on_commit_callbacks(execute=True):
        identity = make_email("fresh@example.com")
    link = VerificationLink.objects.get(identity=identity)
    assert link.mail_status == MailStatus.SENT
    assert SentMessage.objects.get(message_id=link.message_id).recipients == ["fresh@example.com"]


# --- SendCustomVerificationEmail -------------------------------------------------------------
@pytest.fixture
def verified_sender(make_domain: Callable[..., Identity]) -> Identity:
    domain = make_domain("example.com")
    domain.mark_verified()
    return domain


def test_custom_send_needs_production_access(
    account: Account, region: Region, verified_sender: Identity, make_template: Callable[..., Any]
) -> None:
    make_template()
    with pytest.raises(flows.ProductionAccessNotGrantedError) as error:
        flows.send_custom_verification_email(account, region, "a@example.org", "Welcome")
    assert error.value.code == "production_access_not_granted"
    assert error.value.messages[0].startswith("Production access not granted.")


def test_custom_send_unknown_template(account: Account, region: Region, production: None) -> None:
    with pytest.raises(NotFoundError) as error:
        flows.send_custom_verification_email(account, region, "a@example.org", "Nope")
    assert error.value.messages == [
        "There is no custom verification email template named Nope in us-east-1. Check the "
        "name, or create the template first."
    ]


def test_custom_send_rate_limit_once_per_second(
    account: Account, region: Region, production: None, verified_sender: Identity,
    make_template: Callable[..., Any],
) -> None:  # fmt: skip
    make_template()
    with time_machine.travel(T0, tick=False):
        message_id = flows.send_custom_verification_email(
            account, region, "a@example.org", "Welcome"
        )
        with pytest.raises(flows.TooManyRequestsError) as error:
            flows.send_custom_verification_email(account, region, "b@example.org", "Welcome")
    assert error.value.code == "too_many_requests"
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        flows.send_custom_verification_email(account, region, "b@example.org", "Welcome")
    assert len(message_id) == 16 + 1 + 36 + 7
    assert not Identity.objects.filter(identity_type=IdentityType.EMAIL_ADDRESS).exists()  # FAQ Q3


def test_custom_send_refuses_an_unverified_from_address(
    account: Account, region: Region, production: None, make_template: Callable[..., Any]
) -> None:
    make_template()
    with pytest.raises(flows.MessageRejectedError, match=r"noreply@example\.com is not verified"):
        flows.send_custom_verification_email(account, region, "a@example.org", "Welcome")


def custom_link(account: Account, region: Region, address: str) -> tuple[VerificationLink, str]:
    link = VerificationLink.objects.get(
        message_id=flows.send_custom_verification_email(account, region, address, "Welcome")
    )
    return link, link.token()


def test_custom_link_click_creates_the_identity_verified(
    account: Account, region: Region, production: None, verified_sender: Identity,
    make_template: Callable[..., CustomVerificationEmailTemplate],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from sending.models import SentMessage

    make_template()
    link, token = custom_link(account, region, "New.User@example.org")
    assert link.identity is None
    with django_capture_on_commit_callbacks(execute=True):
        result = flows.confirm(token)
    assert result.succeeded
    assert result.redirect_url == "https://www.example.com/verifysuccess"
    identity = Identity.objects.get(name="New.User@example.org")
    assert identity.verification_status == VerificationStatus.SUCCESS
    # Created already verified: no default verification mail goes out for it.
    assert not VerificationLink.objects.filter(identity=identity).exists()
    assert not SentMessage.objects.filter(recipients=["New.User@example.org"]).exists()


def test_custom_link_click_verifies_the_pending_identity(
    account: Account, region: Region, production: None, verified_sender: Identity,
    make_template: Callable[..., Any], pending: Identity,
) -> None:  # fmt: skip
    make_template()
    _, token = custom_link(account, region, pending.name)
    assert flows.confirm(token).succeeded
    pending.refresh_from_db()
    assert pending.verification_status == VerificationStatus.SUCCESS


def test_custom_link_failure_redirect_and_urls_kept_after_template_edit(
    account: Account, region: Region, production: None, verified_sender: Identity,
    make_template: Callable[..., Any],
) -> None:  # fmt: skip
    template = make_template()
    with time_machine.travel(T0, tick=False):
        _, token = custom_link(account, region, "a@example.org")
    template.failure_redirection_url = "https://elsewhere.example/"
    template.save()
    result = flows.confirm(token, now=T0 + timedelta(days=2))
    assert result.outcome is LinkOutcome.EXPIRED
    assert result.redirect_url == "https://www.example.com/verifyfailure"


def test_custom_template_deleted_before_sending_fails_the_mail(
    account: Account, region: Region, production: None, verified_sender: Identity,
    make_template: Callable[..., Any],
) -> None:  # fmt: skip
    template = make_template()
    link, _ = custom_link(account, region, "a@example.org")
    template.delete()
    send_verification_email.apply(kwargs={"link_id": link.pk})
    link.refresh_from_db()
    assert link.mail_status == MailStatus.FAILED
    assert link.mail_error.startswith("The custom verification email template Welcome was deleted")


def test_lost_mail_tasks_are_queued_again(
    smtp: Any, issue_link: Callable[..., VerificationLink], time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    link = issue_link("lost@example.com")  # its task never ran (say the broker lost it)
    time_machine.move_to(T0 + timedelta(minutes=14), tick=False)
    assert flows.requeue_stalled() == 0
    time_machine.move_to(T0 + timedelta(minutes=16), tick=False)
    assert flows.requeue_stalled() == 1  # runs eagerly in tests: the mail goes out
    link.refresh_from_db()
    assert link.mail_status == MailStatus.SENT
    assert [m["To"] for m in smtp.messages] == ["lost@example.com"]
    assert flows.requeue_stalled() == 0


def test_lost_verification_starts_are_issued_by_the_beat_job(
    smtp: Any,
    make_email: Callable[..., Identity],
    time_machine: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Created without running their on-commit work: as if the broker was down when the
    # `start_identity_verification` task was to be queued.
    time_machine.move_to(T0, tick=False)
    lost = make_email("lost@example.com")
    time_machine.move_to(T0 + timedelta(minutes=14), tick=False)
    recent = make_email("recent@example.com")
    assert flows.start_lost_verifications() == 0

    time_machine.move_to(T0 + timedelta(minutes=16), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        expire_verification_requests.run()  # the beat job; mails go out eagerly in tests

    assert [m["To"] for m in smtp.messages] == ["lost@example.com"]
    assert (lost.verification_links.count(), recent.verification_links.count()) == (1, 0)
    assert flows.start_lost_verifications() == 0  # it has its link now


def test_start_identity_verification_task_issues_one_link(
    smtp: Any, make_email: Callable[..., Identity], django_capture_on_commit_callbacks: Any
) -> None:
    identity = make_email("new@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        start_identity_verification.run(identity_id=identity.pk)
        start_identity_verification.run(identity_id=identity.pk)  # a redelivered message

    assert identity.verification_links.count() == 1
    assert [m["To"] for m in smtp.messages] == ["new@example.com"]
