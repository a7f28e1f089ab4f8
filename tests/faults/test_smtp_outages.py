"""The SMTP server in the production stack: `manage.py smtp_server` as its own process beside
the web processes and workers (tests/faults/conftest.py), reached with smtplib over STARTTLS.

Mail it accepts is delivered by the workers to the stack's relay exactly as API mail is; while
the database is down it answers 4xx (the client keeps the message and retries) and accepts
again, without a restart, once the database is back.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from smtp.credentials import smtp_password
from tests.faults.stack import ACCOUNT_ID, REGION, Stack, manage
from tests.support.celery_worker import BASE_DIR, wait_for
from tests.support.knot import free_port
from tests.support.services import terminate

SENDER = "app@smtp-faults.example"
RECIPIENT = "customer@smtp-faults.example"


@dataclass(frozen=True)
class SubmissionServer:
    port: int
    cert: Path
    username: str
    password: str
    process: subprocess.Popen[bytes]


def _banner(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as sock:
        return sock.recv(64).startswith(b"220")
    return False


@pytest.fixture(scope="module")
def submission(stack: Stack) -> Iterator[SubmissionServer]:
    """`manage.py smtp_server` on the stack's database and broker; a verified sender, a
    verified recipient, and production access."""
    ses = stack.ses(0)
    for address in (SENDER, RECIPIENT):
        ses.create_email_identity(EmailIdentity=address)
    # Verified as if the links had been clicked (that flow has tests of its own).
    stack.rows(
        "UPDATE identities_identity SET verification_status = 'SUCCESS' WHERE name = ANY(%s)",
        ([SENDER, RECIPIENT],),
    )
    # Out of the sandbox's 1 message/s, so the tests' sends are never throttled.
    manage(
        stack.env,
        "shell",
        "-c",
        "from accounts.models import Account, AccountRegion; "
        f"AccountRegion.objects.update_or_create(account=Account.objects.get(id={ACCOUNT_ID!r}), "
        f"region_id={REGION!r}, defaults=dict(production_access_enabled=True, "
        "max_send_rate=-1, max_24_hour_send=-1))",
    )
    port = free_port()
    log = (Path(stack.env["SESCONSOLE_VAR_DIR"]) / "smtp-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smtp_server", "--port", str(port), "--tls-port", "0"],
        cwd=BASE_DIR,
        env={**os.environ, **stack.env, "SMTP_SERVER_NAME": "localhost"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: process.poll() is not None or _banner(port), 60, "smtp_server")
        assert process.poll() is None, "smtp_server exited"
        yield SubmissionServer(
            port=port,
            cert=Path(stack.env["SESCONSOLE_VAR_DIR"]) / "smtp-tls-cert.pem",
            username=stack.key.access_key_id,
            password=smtp_password(stack.key.secret, REGION),
            process=process,
        )
    finally:
        terminate(process, timeout=15)
        log.close()


def client(server: SubmissionServer, *, login: bool = True) -> smtplib.SMTP:
    smtp = smtplib.SMTP("localhost", server.port, timeout=20)
    smtp.starttls(context=ssl.create_default_context(cafile=str(server.cert)))
    if login:
        smtp.login(server.username, server.password)
    return smtp


def mail(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"App <{SENDER}>", RECIPIENT, subject
    message.set_content("Sent through sesconsole's SMTP server.\n")
    return message.as_bytes()


def send(smtp: smtplib.SMTP, subject: str) -> tuple[int, bytes]:
    smtp.mail(SENDER)
    smtp.rcpt(RECIPIENT)
    return smtp.data(mail(subject))


def relayed(stack: Stack, subject: str) -> list[EmailMessage]:
    return [m for m in stack.smtp.messages if m["Subject"] == subject]


def stored(stack: Stack, subject: str) -> list[tuple[str, str]]:
    return stack.rows(
        "SELECT message_id, status FROM sending_sentmessage WHERE subject = %s", (subject,)
    )


def test_smtp_mail_is_stored_and_delivered_by_the_workers(
    stack: Stack, submission: SubmissionServer
) -> None:
    with contextlib.closing(client(submission)) as smtp:
        code, reply = send(smtp, "Delivered over SMTP")
    [(message_id, _status)] = stored(stack, "Delivered over SMTP")
    assert (code, reply) == (250, f"Ok {message_id}".encode())
    wait_for(lambda: relayed(stack, "Delivered over SMTP"), 30, "the worker to relay the mail")
    [delivered] = relayed(stack, "Delivered over SMTP")
    assert delivered["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert stored(stack, "Delivered over SMTP") == [(message_id, "DELIVERED")]


def test_database_down_answers_4xx_then_accepts_when_it_returns(
    stack: Stack, submission: SubmissionServer
) -> None:
    smtp = client(submission)  # logged in while the database is up
    try:
        stack.postgres.stop()
        try:
            assert send(smtp, "Sent during the outage") == (451, b"Temporary service failure")
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client(submission)
            assert (refused.value.smtp_code, refused.value.smtp_error) == (
                454,
                b"Temporary authentication failure",
            )
        finally:
            stack.postgres.start()
        # The client retries on the same session; the server was not restarted.
        assert send(smtp, "Sent during the outage")[0] == 250
    finally:
        smtp.close()
    assert len(stored(stack, "Sent during the outage")) == 1
    assert submission.process.poll() is None


def test_broker_down_mail_is_accepted_stored_and_delivered_by_the_sweep(
    stack: Stack, submission: SubmissionServer
) -> None:
    """The message is in the database before the queue is asked: answering 4xx now would make
    the client send it twice. It is accepted, and the sweep queues it once Redis is back."""
    stack.redis.stop()
    try:
        with contextlib.closing(client(submission)) as smtp:
            code, _reply = send(smtp, "Sent while Redis is down")
        assert code == 250
        [(_message_id, status)] = stored(stack, "Sent while Redis is down")
        assert status == "QUEUED"
    finally:
        stack.redis.start()
    # The sweep re-queues messages queued for over two minutes (sending.delivery.QUEUED_STALL);
    # age this one instead of waiting.
    stack.rows(
        "UPDATE sending_sentmessage SET accepted_at = accepted_at - interval '5 minutes' "
        "WHERE subject = %s",
        ("Sent while Redis is down",),
    )
    wait_for(lambda: relayed(stack, "Sent while Redis is down"), 150, "the sweep to deliver it")
    assert [status for _id, status in stored(stack, "Sent while Redis is down")] == ["DELIVERED"]
