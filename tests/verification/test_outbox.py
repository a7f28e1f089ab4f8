"""Verification mails are sent messages: stored, delivered and shown like the account's sends
(sending.outbox), without counting in its quota; the old Mailbox pages redirect."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Region
from sending import quota
from sending.models import SentMessage, Status
from sending.tasks import send_verification_email
from templates_app.models import CustomVerificationEmailTemplate
from tests.support.smtp_server import SmtpSink
from tests.verification.conftest import run_as_worker
from verification import flows
from verification.models import MailStatus, VerificationLink

LINK = re.compile(r"http://testserver-public/verify/[A-Za-z0-9_-]+/")


@pytest.fixture(autouse=True)
def embedded(settings: Any) -> None:
    """No relay: the embedded mode keeps mail for the console (the `smtp` fixture overrides)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    settings.PUBLIC_BASE_URL = "http://testserver-public"


def list_url(**query: str) -> str:
    url = reverse("sending:list", kwargs={"region": "us-east-1"})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def message_url(message: SentMessage) -> str:
    return reverse(
        "sending:message", kwargs={"region": message.region_id, "message_id": message.message_id}
    )


def test_the_default_mail_is_a_kept_sent_message_outside_the_quota(
    issue_link: Callable[..., VerificationLink], account: Account, region: Region
) -> None:
    link = issue_link("Someone@Example.com")
    token = link.token()

    send_verification_email.apply(kwargs={"link_id": link.pk})

    message = SentMessage.objects.get()
    assert (message.message_id, message.operation, message.status) == (
        link.message_id, "VerificationEmail", Status.KEPT,
    )  # fmt: skip
    assert (message.account_id, message.region_id) == (account.pk, region.pk)
    assert message.recipients == ["Someone@Example.com"]
    assert (message.from_address, message.envelope_from) == ("no-reply@sesconsole.localhost",) * 2
    assert message.quota_recipients == 0
    assert quota.sent_last_24_hours(account, region, timezone.now()) == 0
    assert f"/verify/{token}/".encode() in bytes(message.mime)
    headers = email.message_from_bytes(bytes(message.mime))
    assert headers["Message-ID"].strip() == f"<{link.message_id}@testserver-public>"
    link.refresh_from_db()
    assert link.mail_status == MailStatus.SENT
    assert link.expires_at == link.sent_at + flows.LINK_LIFETIME


def test_a_custom_mail_keeps_the_message_id_the_api_returned(
    production: None, dkim_domain: Any, account: Account, region: Region,
    make_template: Callable[..., CustomVerificationEmailTemplate], smtp: SmtpSink,
) -> None:  # fmt: skip
    make_template()
    message_id = flows.send_custom_verification_email(account, region, "new@example.org", "Welcome")
    link = VerificationLink.objects.get(message_id=message_id)

    send_verification_email.apply(kwargs={"link_id": link.pk})

    message = SentMessage.objects.get(message_id=message_id)
    assert (message.operation, message.status) == ("SendCustomVerificationEmail", Status.DELIVERED)
    assert message.dkim_domain == "example.com"  # signed by the delivery, like any send
    assert smtp.handler.envelopes[0].content == message.raw_as_sent
    assert smtp.handler.envelopes[0].mail_from == "noreply@example.com"


def test_a_retry_delivers_the_stored_message_once(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link()
    smtp.stop()
    with pytest.raises(Retry):
        run_as_worker(link.pk)
    message = SentMessage.objects.get()
    assert message.status == Status.QUEUED
    smtp.start()
    run_as_worker(link.pk, retries=1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.DELIVERED, 2)
    assert SentMessage.objects.count() == 1
    assert len(smtp.messages) == 1


def test_spent_retries_fail_the_link_and_the_message(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link()
    smtp.stop()
    run_as_worker(link.pk, retries=8)
    link.refresh_from_db()
    message = SentMessage.objects.get()
    assert link.mail_status == MailStatus.FAILED
    assert message.status == Status.FAILED  # the sending sweep won't deliver it later
    assert message.last_error == link.mail_error


def test_a_superseded_link_withdraws_its_undelivered_mail(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    old = issue_link()
    smtp.stop()
    with pytest.raises(Retry):
        run_as_worker(old.pk)
    issue_link()  # Resend: the old link stops working
    run_as_worker(old.pk, retries=1)
    message = SentMessage.objects.get(message_id=old.message_id)
    assert message.status == Status.FAILED
    assert message.last_error == "A newer verification email replaced this one."


def test_sent_messages_lists_both_kinds_with_a_kind_filter(
    owner_client: Client, issue_link: Callable[..., VerificationLink],
    other_account: Account, region: Region,
) -> None:  # fmt: skip
    link = issue_link("mine@example.com")
    send_verification_email.apply(kwargs={"link_id": link.pk})
    theirs = VerificationLink.issue(
        account=other_account, region=region, email_address="theirs@example.com"
    )
    send_verification_email.apply(kwargs={"link_id": theirs.pk})
    own = SentMessage.objects.get(message_id=link.message_id)
    SentMessage.objects.create(
        account=own.account, region=region, message_id="account-send", actor="tests",
        operation="SendEmail", from_address="a@example.com", subject="An account send",
        envelope_from="a@example.com", recipients=["b@example.com"], mime=b"x",
        accepted_at=own.accepted_at - timedelta(seconds=1),
    )  # fmt: skip

    everything = owner_client.get(list_url()).content.decode()
    assert "mine@example.com" in everything
    assert "An account send" in everything
    assert "theirs@example.com" not in everything
    assert "Verification email</small>" in everything
    verification = owner_client.get(list_url(kind="verification")).content.decode()
    assert "mine@example.com" in verification
    assert "An account send" not in verification
    sends = owner_client.get(list_url(kind="account")).content.decode()
    assert "mine@example.com" not in sends
    assert "An account send" in sends


def test_the_message_page_lists_the_link_to_click(
    owner_client: Client, outsider_client: Client, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link("mine@example.com")
    token = link.token()
    send_verification_email.apply(kwargs={"link_id": link.pk})
    message = SentMessage.objects.get()

    page = owner_client.get(message_url(message)).content.decode()

    url = f"http://testserver-public/verify/{token}/"
    assert f'<a href="{url}" class="message-link">' in page
    assert LINK.findall(page).count(url) >= 1
    assert outsider_client.get(message_url(message)).status_code == 404


def test_localstack_endpoint_shows_the_mail_with_its_link(
    owner_client: Client, issue_link: Callable[..., VerificationLink], settings: Any
) -> None:
    settings.SES_MESSAGES_ENDPOINT = True
    link = issue_link("mine@example.com")
    token = link.token()
    send_verification_email.apply(kwargs={"link_id": link.pk})

    [shown] = owner_client.get("/_aws/ses", {"id": link.message_id}).json()["messages"]

    assert shown["Destination"] == {"ToAddresses": ["mine@example.com"]}
    assert shown["Subject"].startswith("sesconsole – Email Address Verification Request")
    assert f"/verify/{token}/" in shown["Body"]["text_part"]


@pytest.mark.parametrize("path", ["/mailbox/", "/mailbox/12/", "/mailbox/12/html/"])
def test_the_old_mailbox_pages_redirect_to_sent_messages(
    owner_client: Client, client: Client, path: str, region: Region
) -> None:
    response = owner_client.get(path)
    assert response.status_code == 301
    assert response["Location"] == list_url(kind="verification")
    assert client.get(path).status_code == 302  # signed out: the login page first
