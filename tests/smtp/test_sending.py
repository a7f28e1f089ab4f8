"""MAIL FROM, RCPT TO and DATA through the send operation, against the real server on
loopback: what is accepted is stored and queued, what SES refuses gets SES's SMTP reply."""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection

from accounts.models import AccessKey, Account, AccountRegion, Region
from identities.models import ConfigurationSet, Identity, IdentityPolicy
from sending.models import SentMessage
from smtp import tls
from smtp.credentials import smtp_password
from smtp.server import SmtpServer
from tests.smtp.conftest import SmtpCredentials

SIMULATOR = "success@simulator.amazonses.com"


def message(sender: str = "App <app@example.com>", to: str = SIMULATOR, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, "Hello"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Sent over SMTP.\n")
    return mail.as_bytes()


def transaction(
    client: smtplib.SMTP, content: bytes, mail_from: str = "app@example.com", *rcpt: str
) -> tuple[int, bytes]:
    """MAIL, RCPT for each recipient (the simulator by default), DATA: DATA's reply."""
    assert client.mail(mail_from)[0] == 250
    for recipient in rcpt or (SIMULATOR,):
        assert client.rcpt(recipient)[0] == 250
    return client.data(content)


def test_accepted_message_answers_250_ok_with_its_message_id(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], credentials: SmtpCredentials
) -> None:
    verified_domain("example.com")

    code, text = transaction(login, message())

    stored = SentMessage.objects.get()
    assert (code, text) == (250, f"Ok {stored.message_id}".encode())
    assert (stored.operation, stored.actor, stored.region_id) == (
        "SendRawEmail",
        f"SMTP {credentials.username}",
        "us-east-1",
    )
    assert (stored.recipients, stored.from_header) == ([SIMULATOR], "App <app@example.com>")


def test_accepted_message_is_queued_for_delivery(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], queued_tasks: Any
) -> None:
    verified_domain("example.com")
    queued_tasks()  # the domain's own set-up tasks are not this test's
    transaction(login, message())
    assert queued_tasks() == [
        ("sending.tasks.deliver_messages", {"items": [[SentMessage.objects.get().pk, None]]})
    ]


@pytest.fixture
def django_connection(
    smtp_server: SmtpServer,
    credentials: SmtpCredentials,
    verified_domain: Callable[..., Identity],
    production: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:
    """Django's SMTP backend configured as the README says (host, port, TLS, credentials)."""
    verified_domain("example.com")
    cert, _key = tls.certificate_files()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # Django's backend checks the certificate

    def make(*, implicit_tls: bool) -> Any:
        return get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host="localhost",
            port=smtp_server.config.tls_port if implicit_tls else smtp_server.config.port,
            username=credentials.username,
            password=credentials.password,
            use_tls=not implicit_tls,
            use_ssl=implicit_tls,
            timeout=10,
        )

    return make


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
def test_django_smtp_backend_sends_over_one_connection(
    django_connection: Callable[..., Any], implicit_tls: bool
) -> None:
    mails = [
        DjangoEmailMessage("One", "Body", "App <app@example.com>", ["a@customer.test"]),
        DjangoEmailMessage(
            "Two", "Body", "app@example.com", ["b@customer.test"], bcc=["c@customer.test"]
        ),
    ]

    assert django_connection(implicit_tls=implicit_tls).send_messages(mails) == 2

    stored = list(SentMessage.objects.order_by("accepted_at", "pk"))
    assert [(m.subject, m.recipients) for m in stored] == [
        ("One", ["a@customer.test"]),
        ("Two", ["b@customer.test", "c@customer.test"]),
    ]
    assert b"Bcc:" not in bytes(stored[1].mime)


def test_unverified_from_header_is_rejected_naming_the_address(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")

    reply = transaction(login, message(sender="Jo <jo@unverified.test>"))

    assert reply == (
        554,
        b"Message rejected: Email address is not verified. The following identities failed "
        b"the check in region US-EAST-1: Jo <jo@unverified.test>, jo@unverified.test",
    )
    assert SentMessage.objects.count() == 0


def test_unverified_mail_from_is_rejected_too(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    reply = transaction(login, message(), "bounces@unverified.test")
    assert reply == (
        554,
        b"Message rejected: Email address is not verified. The following identities failed "
        b"the check in region US-EAST-1: bounces@unverified.test",
    )


def test_sandbox_recipient_must_be_verified(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    reply = transaction(login, message(to="someone@customer.test"), "app@example.com",
                        "someone@customer.test")  # fmt: skip
    assert reply == (
        554,
        b"Message rejected: Email address is not verified. The following identities failed "
        b"the check in region US-EAST-1: someone@customer.test",
    )


def test_no_open_relay_for_another_accounts_identity(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    other_account: Account,
    region: Region,
) -> None:
    """An authenticated account cannot send as a domain another account verified."""
    verified_domain("other.example", acct=other_account)
    reply = transaction(login, message(sender="ceo@other.example"), "ceo@other.example")
    assert reply[0] == 554
    assert reply[1].endswith(b"in region US-EAST-1: ceo@other.example")
    assert SentMessage.objects.count() == 0


def test_region_is_the_one_the_password_was_derived_for(
    connect: Callable[..., smtplib.SMTP],
    credentials: SmtpCredentials,
    verified_domain: Callable[..., Identity],
    other_region: Region,
) -> None:
    verified_domain("example.com")  # in us-east-1 only
    client = connect()
    client.login(credentials.username, smtp_password(credentials.secret, "eu-west-1"))
    assert transaction(client, message())[1].endswith(
        b"in region EU-WEST-1: App <app@example.com>, app@example.com"
    )
    verified_domain("example.com", reg=other_region)
    assert transaction(client, message())[0] == 250
    assert SentMessage.objects.get().region_id == "eu-west-1"


def test_configuration_set_header_selects_the_set_and_is_removed(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    verified_domain("example.com")
    ConfigurationSet.objects.create(account=account, region=region, name="transactional")

    assert transaction(login, message(X_SES_CONFIGURATION_SET="transactional"))[0] == 250

    stored = SentMessage.objects.get()
    assert stored.configuration_set_name == "transactional"
    assert b"X-SES-CONFIGURATION-SET" not in bytes(stored.mime).upper()


def test_unknown_configuration_set_is_a_transaction_failure(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    assert transaction(login, message(X_SES_CONFIGURATION_SET="nope")) == (
        554,
        b"Transaction failed: Configuration set nope does not exist.",
    )


def test_more_than_50_recipients_fail_after_data(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")
    recipients = [f"user{n}@customer.test" for n in range(51)]
    assert transaction(login, message(), "app@example.com", *recipients) == (
        554,
        b"Transaction failed: Recipient count exceeds 50.",
    )
    assert SentMessage.objects.count() == 0


def test_sending_rate_answers_454_throttling(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        assert transaction(login, message())[0] == 250
        assert transaction(login, message()) == (
            454,
            b"Throttling failure: Maximum sending rate exceeded.",
        )
        clock.shift(1.0)
        assert transaction(login, message())[0] == 250


def test_daily_quota_answers_454_throttling(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    account: Account,
    region: Region,
    production: None,
) -> None:
    verified_domain("example.com")
    AccountRegion.objects.filter(account=account, region=region).update(
        max_24_hour_send=1, max_send_rate=-1
    )
    assert (
        transaction(login, message(to="a@customer.test"), "app@example.com", "a@c.test")[0] == 250
    )
    assert transaction(login, message(to="b@customer.test"), "app@example.com", "b@c.test") == (
        454,
        b"Throttling failure: Daily message quota exceeded.",
    )


def test_paused_sending_is_refused(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    verified_domain("example.com")
    account.region_settings(region)
    AccountRegion.objects.filter(account=account, region=region).update(sending_enabled=False)
    assert transaction(login, message()) == (554, b"Sending paused for this account")


def test_a_deactivated_key_cannot_log_in_again(
    connect: Callable[..., smtplib.SMTP], credentials: SmtpCredentials
) -> None:
    AccessKey.objects.get(access_key_id=credentials.username).deactivate()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        connect().login(credentials.username, credentials.password)


def test_client_dropping_mid_data_leaves_nothing_stored(
    smtp_server: SmtpServer,
    credentials: SmtpCredentials,
    client_tls: ssl.SSLContext,
    verified_domain: Callable[..., Identity],
    login: smtplib.SMTP,
) -> None:
    verified_domain("example.com")
    client = smtplib.SMTP_SSL(
        "localhost", smtp_server.config.tls_port, context=client_tls, timeout=10
    )
    client.login(credentials.username, credentials.password)
    client.mail("app@example.com")
    client.rcpt(SIMULATOR)
    assert client.docmd("DATA")[0] == 354
    client.send(message()[:60])  # part of the headers, no end-of-data line
    client.close()
    deadline = time.monotonic() + 5
    while smtp_server.state.open_connections > 1 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert smtp_server.state.open_connections == 1  # only `login` is left
    assert SentMessage.objects.count() == 0
    assert transaction(login, message())[0] == 250  # the server carries on
    assert SentMessage.objects.count() == 1


def _other_accounts_domain(
    verified_domain: Callable[..., Identity], other_account: Account, *, allow: str | None
) -> str:
    """other.example, verified by the other account; with a policy letting `allow` send."""
    domain = verified_domain("other.example", acct=other_account)
    arn = f"arn:aws:ses:us-east-1:{other_account.pk}:identity/other.example"
    if allow is not None:
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": [allow]},
            "Action": ["ses:SendRawEmail"],
            "Resource": arn,
        }
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        IdentityPolicy.objects.create(identity=domain, name="delegate", document=document)
    return arn


def test_delegate_sending_without_a_policy_is_access_denied(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    account: Account,
    other_account: Account,
) -> None:
    arn = _other_accounts_domain(verified_domain, other_account, allow=None)
    content = message(sender="app@other.example", X_SES_SOURCE_ARN=arn)
    assert transaction(login, content, "app@other.example") == (
        554,
        f"Access denied: User `arn:aws:iam::{account.pk}:root' is not authorized to perform "
        f"`ses:SendRawEmail' on resource `{arn}'".encode(),
    )
    assert SentMessage.objects.count() == 0


def test_delegate_sending_allowed_by_the_owners_policy_is_accepted(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    account: Account,
    other_account: Account,
) -> None:
    arn = _other_accounts_domain(verified_domain, other_account, allow=account.pk)
    content = message(sender="app@other.example", X_SES_SOURCE_ARN=arn)
    assert transaction(login, content, "app@other.example")[0] == 250
    stored = SentMessage.objects.get()
    assert (stored.account, stored.source_arn) == (account, arn)


def test_rejection_naming_a_non_ascii_display_name_is_an_ascii_reply(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    code, text = transaction(login, message(sender="Jöhn <jo@unverified.test>"))
    # Whichever rule refuses it, the name comes back escaped rather than breaking the reply.
    assert (code, text.isascii(), b"J\\xf6hn <jo@unverified.test>" in text) == (554, True, True)


def test_a_key_deactivated_after_auth_stops_the_open_session(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    credentials: SmtpCredentials,
    account: Account,
    region: Region,
    settings: Any,
) -> None:
    """Within SMTP_SESSION_READ_AHEAD_SECONDS of the read the session keeps (sending.read_ahead)
    the session still sends; the next message after it is refused."""
    verified_domain("example.com")
    account.region_settings(region).grant_production_access()
    AccountRegion.objects.filter(account=account).update(max_send_rate=-1, max_24_hour_send=-1)
    window = settings.SMTP_SESSION_READ_AHEAD_SECONDS
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        assert transaction(login, message())[0] == 250
        AccessKey.objects.get(access_key_id=credentials.username).deactivate()
        clock.shift(window * 0.9)
        assert transaction(login, message())[0] == 250
        clock.shift(window * 0.1)
        assert transaction(login, message()) == (
            535,
            b"Authentication Credentials Invalid: the access key is no longer active; log in "
            b"with active SMTP credentials",
        )
    assert SentMessage.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "reply"),
    [
        (
            b"From: app@example.com\r\nSubject: \x00nul\r\n\r\nbody\r\n",
            b"Transaction failed: Line 2 of the raw message's header section contains a NUL "
            b"byte. Remove it: header fields must be text.",
        ),
        (
            b"From: app@example.com\r\nSubject: =?utf-8?q?a=00b?=\r\n\r\nbody\r\n",
            b"Transaction failed: The raw message's Subject header contains a NUL character. "
            b"Remove it: header values must be text.",
        ),
    ],
    ids=["byte", "encoded-word"],
)
def test_a_nul_in_the_headers_is_refused_before_the_database(
    login: smtplib.SMTP, verified_domain: Callable[..., Identity], content: bytes, reply: bytes
) -> None:
    verified_domain("example.com")

    assert transaction(login, content) == (554, reply)
    assert SentMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("mail_from", "content"),
    [
        ("app@example.com", b""),
        ("app@example.com", b"no headers at all, just text\r\n"),
        ("app@example.com", b"From: app@example.com\r\nSubject: \x00nul\r\n\r\nbody\x00\r\n"),
        ("app@example.com", b"From: \xff\xfe@example.com\r\nSubject: bytes\r\n\r\nbody\r\n"),
        ("app@example.com", b"From: app@example.com\r\nX-Long: " + b"x" * 990 + b"\r\n\r\nb\r\n"),
        ("a\x00b@example.com", message()),
        ("not-an-address", message()),
    ],
    ids=["empty", "no-headers", "nul", "non-utf8-from", "long-header", "nul-mail-from", "bare"],
)
def test_malformed_mail_gets_a_permanent_answer_never_a_server_error(
    login: smtplib.SMTP,
    verified_domain: Callable[..., Identity],
    mail_from: str,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    verified_domain("example.com")
    login.putcmd("MAIL", f"FROM:<{mail_from}>")
    code, _text = login.getreply()
    if code == 250:
        assert login.rcpt(SIMULATOR)[0] == 250
        code, _text = login.data(content)
    assert code // 100 in (2, 5), (code, _text)
    assert code not in (500, 451)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
