"""The verification mail, end to end through a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import dkim
import pytest
from celery.exceptions import Retry

from identities.models import Identity, VerificationStatus
from sending.tasks import send_verification_email
from templates_app.models import CustomVerificationEmailTemplate
from tests.support.smtp_server import SmtpSink
from tests.verification.conftest import run_as_worker
from verification import flows
from verification.mailer import FOOTER_TEXT
from verification.models import MailStatus, VerificationLink
from verification.tasks import retry_delay

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
LINK = re.compile(r"http://testserver-public/verify/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "http://testserver-public"
    settings.VERIFICATION_CONCERNS_ADDRESS = "concerns@sesconsole.test"


def dns_for(domain: Identity) -> Callable[..., bytes]:
    keys = {
        f"{key.selector}._domainkey.{domain.name}.": key.txt_value for key in domain.dkim_keys.all()
    }

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        value = keys.get(name.decode())
        return value.encode() if value else None

    return dnsfunc


def text_of(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: Any) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_default_mail_headers_body_and_link(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link("Sender@Example.com")
    token = link.token()

    send_verification_email.apply(kwargs={"link_id": link.pk})

    [message] = smtp.messages
    assert message["Subject"].strip() == (
        "sesconsole – Email Address Verification Request in region US East (N. Virginia)"
    )
    assert message["To"] == "Sender@Example.com"
    assert message["From"] == "no-reply@sesconsole.localhost"
    assert smtp.handler.envelopes[0].rcpt_tos == ["Sender@Example.com"]
    assert LINK.findall(text_of(message)) == [token]
    assert LINK.findall(html_of(message)) == [token, token]  # href and visible text
    assert "expires 24 hours after this message was sent" in text_of(message)
    assert "DKIM-Signature" not in message
    link.refresh_from_db()
    assert (link.mail_status, link.attempts, link.token_encrypted) == (MailStatus.SENT, 1, "")
    assert link.expires_at == link.sent_at + flows.LINK_LIFETIME


def test_task_is_idempotent(smtp: SmtpSink, issue_link: Callable[..., VerificationLink]) -> None:
    link = issue_link()
    send_verification_email.apply(kwargs={"link_id": link.pk})
    send_verification_email.apply(kwargs={"link_id": link.pk})
    send_verification_email.apply(kwargs={"link_id": 999_999})  # gone: logged, no error
    assert len(smtp.messages) == 1


def test_superseded_link_is_never_sent(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    old = issue_link()
    new = issue_link()
    send_verification_email.apply(kwargs={"link_id": old.pk})
    send_verification_email.apply(kwargs={"link_id": new.pk})
    assert len(smtp.messages) == 1
    assert LINK.findall(text_of(smtp.messages[0])) != []
    old.refresh_from_db()
    assert old.mail_status == MailStatus.QUEUED
    assert old.superseded_at is not None


def test_custom_template_mail_footer_image_and_dkim(
    smtp: SmtpSink,
    dkim_domain: Identity,
    production: None,
    make_template: Callable[..., CustomVerificationEmailTemplate],
    account: Any,
    region: Any,
) -> None:
    image = base64.b64encode(PNG).decode()
    make_template(
        content=f'<html><body><h1>Hello</h1><img alt="logo" src="data:image/png;base64,{image}"></body></html>'
    )
    with_capture = flows.send_custom_verification_email(
        account, region, "new.user@example.org", "Welcome"
    )
    link = VerificationLink.objects.get(message_id=with_capture)

    send_verification_email.apply(kwargs={"link_id": link.pk})

    raw = smtp.handler.envelopes[0].content
    [message] = smtp.messages
    assert message["Subject"].strip() == "Please confirm your email address"
    assert message["From"] == "noreply@example.com"
    assert message.get_content_type() == "multipart/related"
    assert FOOTER_TEXT in " ".join(text_of(message).split())
    body = html_of(message)
    assert 'following <a href="mailto:concerns@sesconsole.test">email address</a>' in body
    assert body.index("Hello") < body.index("/verify/") < body.index("please disregard")
    [attachment] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    content_id = attachment["Content-ID"].strip("<>")
    assert attachment.get_content() == PNG
    assert f'src="cid:{content_id}"' in body
    assert "data:image" not in body
    # No tracking, no custom headers: only the standard ones (and the signature).
    assert {name.lower() for name in message} <= {
        "content-type", "mime-version", "subject", "from", "to", "date", "message-id",
        "dkim-signature",
    }  # fmt: skip
    signature = message["DKIM-Signature"]
    assert "d=example.com" in signature
    assert f"s={dkim_domain.dkim_tokens[0]}" in signature
    assert dkim.verify(raw, dnsfunc=dns_for(dkim_domain))


def test_signature_fails_against_another_key(
    smtp: SmtpSink, dkim_domain: Identity, production: None, make_template: Callable[..., Any],
    account: Any, region: Any,
) -> None:  # fmt: skip
    make_template()
    link = VerificationLink.objects.get(
        message_id=flows.send_custom_verification_email(account, region, "a@example.org", "Welcome")
    )
    send_verification_email.apply(kwargs={"link_id": link.pk})
    other = {f"{t}._domainkey.example.com.": None for t in dkim_domain.dkim_tokens}
    wrong_key = dkim_domain.dkim_keys.exclude(selector=dkim_domain.dkim_tokens[0]).first()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return wrong_key.txt_value.encode() if name.decode() in other else None

    assert not dkim.verify(smtp.handler.envelopes[0].content, dnsfunc=dnsfunc)


def test_unsigned_when_from_domain_dkim_not_verified(
    smtp: SmtpSink, dkim_domain: Identity, production: None, make_template: Callable[..., Any],
    account: Any, region: Any,
) -> None:  # fmt: skip
    make_template()
    Identity.objects.filter(pk=dkim_domain.pk).update(dkim_signing_enabled=False)
    link = VerificationLink.objects.get(
        message_id=flows.send_custom_verification_email(account, region, "a@example.org", "Welcome")
    )
    send_verification_email.apply(kwargs={"link_id": link.pk})
    assert "DKIM-Signature" not in smtp.messages[0]


def test_smtp_down_then_up_the_mail_arrives(
    smtp: SmtpSink, make_email: Callable[..., Identity], django_capture_on_commit_callbacks: Any
) -> None:
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        identity = make_email("down@example.com")
    for callback in callbacks:  # the provisioning hook: issues the link, queues the mail
        callback()
    link = VerificationLink.objects.get(identity=identity)

    with pytest.raises(Retry) as retry:
        run_as_worker(link.pk)
    assert retry.value.when == retry_delay(0) == 10
    link.refresh_from_db()
    assert link.mail_status == MailStatus.QUEUED
    assert link.mail_error == "The mail server refused the connection (is it running?)."
    assert link.status_line.startswith("Sending the verification email… (retrying:")
    identity.refresh_from_db()
    assert identity.verification_status == VerificationStatus.PENDING

    with pytest.raises(Retry) as later:
        run_as_worker(link.pk, retries=4)
    assert later.value.when == 160

    smtp.start()
    run_as_worker(link.pk, retries=5)
    link.refresh_from_db()
    assert (link.mail_status, link.attempts) == (MailStatus.SENT, 3)
    assert [m["To"] for m in smtp.messages] == ["down@example.com"]


def test_temporary_4xx_is_retried_and_5xx_is_final(
    smtp: SmtpSink, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link()
    smtp.handler.answer = "451 4.3.0 Mailbox temporarily unavailable"
    with pytest.raises(Retry):
        run_as_worker(link.pk)
    smtp.handler.answer = "554 5.7.1 Rejected"
    run_as_worker(link.pk, retries=1)
    link.refresh_from_db()
    assert link.mail_status == MailStatus.FAILED
    assert link.mail_error == "The mail server answered 554 5.7.1 Rejected."
    assert link.status_line == (
        "The verification email could not be sent: The mail server answered 554 5.7.1 Rejected."
    )


def test_retries_are_bounded(smtp: SmtpSink, issue_link: Callable[..., VerificationLink]) -> None:
    link = issue_link()
    smtp.stop()
    run_as_worker(link.pk, retries=8)  # the last allowed attempt: no more retries
    link.refresh_from_db()
    assert link.mail_status == MailStatus.FAILED
    assert sum(retry_delay(n) for n in range(8)) >= 25 * 60  # covers a long SMTP outage
