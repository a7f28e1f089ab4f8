"""Deliver one accepted message: DKIM-sign, then relay it, keep it, or record the simulation.

1. Read the message if it can be claimed (QUEUED, or SENDING by a worker that died).
2. Recipients at the mailbox simulator were recorded at acceptance and are never relayed;
   with no other recipient the message is SIMULATED.
3. Sign once with the applicable identity's DKIM key (`verification.mailer.signer_for_address`,
   which follows `identities.hierarchy.dkim_signing_identity`), and claim the message with a
   conditional update that stores the signature on the row (unless an earlier attempt stored
   one), so any later attempt sends the very same bytes with the same Message-ID.
4. With Django's SMTP backend configured (EMAIL_HOST) the message goes to the relay with its
   own envelope (MAIL FROM = the SES-style envelope sender, RCPT TO = the recipients), over
   the connection this process keeps open (`RelayConnection`); otherwise (the embedded mode)
   it is KEPT for the console's Sent messages page.
5. A transient failure (connection refused, 4xx) puts the message back in the queue (the task
   retries with back-off, then the sweep every few minutes) until DELIVERY_GIVE_UP after
   acceptance; a permanent one (5xx) is recorded as FAILED.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils import timezone

from verification import mailer

from . import dkim_signing, queue
from .models import SentMessage, Signature, Status

log = logging.getLogger(__name__)

DELIVERY_GIVE_UP = timedelta(hours=12)
# A QUEUED message nobody has tried for this long lost its task (broker down at send time,
# or a retry lost with its worker): the sweep queues it again. Longer than the longest retry
# countdown, so a scheduled retry is not doubled.
QUEUED_STALL = timedelta(minutes=2)
RETRY_STALL = timedelta(minutes=15)


class TransientFailure(Exception):
    """The relay could not take the message now; it is QUEUED again."""


def deliver(sent_message_id: int, now: datetime | None = None) -> str | None:
    """Deliver one message (steps in the module docstring); returns its status, or None when
    there was nothing to do (gone, finished, or claimed by another worker)."""
    now = now or timezone.now()
    found = SentMessage.for_delivery(sent_message_id, now)
    if found is None:
        return None
    message, signing_account = found
    relayed = [r for r in message.recipients if r not in message.simulator_outcomes]
    # Signed before the claim, so that claim and signature are one write (a commit each costs
    # a WAL flush); the claim keeps a signature an earlier attempt stored.
    signature = (
        _signature(message, signing_account) if relayed and not message.dkim_signature else None
    )
    if not message.claim(now, signature):
        return None
    if not relayed:
        message.finish(Status.SIMULATED, now)
        return Status.SIMULATED
    backend = get_connection(fail_silently=False)
    if not isinstance(backend, SmtpBackend):
        message.finish(Status.KEPT, now)
        return Status.KEPT
    try:
        refused = relay_connection().sendmail(
            backend, message.envelope_from, relayed, message.raw_as_sent
        )
    except Exception as exc:
        if mailer.is_transient(exc) and now - message.accepted_at < DELIVERY_GIVE_UP:
            message.release(mailer.describe(exc))
            raise TransientFailure(mailer.describe(exc)) from exc
        message.finish(Status.FAILED, now, mailer.describe(exc))
        log.warning("message %s failed: %s", message.message_id, mailer.describe(exc))
        return Status.FAILED
    error = ""
    if refused:
        error = "; ".join(
            f"{address}: {code} {text.decode(errors='replace')}"
            for address, (code, text) in refused.items()
        )
        error = f"The relay refused some recipients ({error})."
    message.finish(Status.DELIVERED, timezone.now(), error)
    return Status.DELIVERED


def _signature(message: SentMessage, signing_account: str) -> Signature | None:
    signer = mailer.signer_for_address(signing_account, message.region_id, message.from_address)
    if signer is None:
        return None
    header = dkim_signing.dkim_signature(bytes(message.mime), signer)
    return Signature(header, signer.domain, signer.selector)


class RelayConnection:
    """One SMTP connection to the relay, kept open between the deliveries of one worker.

    Opening a connection per message costs a TCP handshake, the greeting, EHLO (STARTTLS and
    AUTH where configured) and QUIT: more round trips than the message itself. The connection
    is reused while the relay settings are the same and it was used less than IDLE_SECONDS ago
    (relays drop idle clients, some silently); any failure closes it, and a reused connection
    that turns out closed by the relay is replaced once at once, since that is not an outage.
    Worker processes close it when they stop (sending.tasks).
    """

    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self._backend: SmtpBackend | None = None
        self._target: tuple[object, ...] = ()
        self._last_used = 0.0

    def sendmail(
        self, backend: SmtpBackend, sender: str, recipients: list[str], raw: bytes
    ) -> dict[str, tuple[int, bytes]]:
        """Send over the kept connection (or a new one); returns the refused recipients."""
        reused = self._reusable(backend)
        try:
            return self._send(backend, sender, recipients, raw)
        except Exception as exc:
            self.close(quit=False)
            if not (reused and _closed_by_relay(exc)):
                raise
        return self._send(backend, sender, recipients, raw)

    def close(self, quit: bool = True) -> None:
        """Say QUIT (when the connection is healthy) and close; never raises."""
        backend, self._backend = self._backend, None
        if backend is None or backend.connection is None:
            return
        try:
            if quit:
                backend.connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            backend.connection.close()
            backend.connection = None

    def _reusable(self, backend: SmtpBackend) -> bool:
        target = _relay_target(backend)
        fresh = time.monotonic() - self._last_used < self.IDLE_SECONDS
        if self._backend is not None and (target != self._target or not fresh):
            # No QUIT: a relay that vanished silently would hold it for EMAIL_TIMEOUT.
            self.close(quit=False)
        return self._backend is not None

    def _send(
        self, backend: SmtpBackend, sender: str, recipients: list[str], raw: bytes
    ) -> dict[str, tuple[int, bytes]]:
        if self._backend is None:
            # Kept before opening, so that a failed STARTTLS or login is closed too.
            self._backend, self._target = backend, _relay_target(backend)
            backend.open()
        assert self._backend.connection is not None
        refused = self._backend.connection.sendmail(sender, recipients, raw)
        self._last_used = time.monotonic()
        return refused


def _closed_by_relay(exc: Exception) -> bool:
    """The relay hung up on an idle connection (at once, or with 421 to the next command)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError)


def _relay_target(backend: SmtpBackend) -> tuple[object, ...]:
    """What a kept connection was opened with: other settings (a test's relay) need another."""
    return (
        backend.host, backend.port, backend.username, backend.password,
        backend.use_tls, backend.use_ssl, backend.timeout,
    )  # fmt: skip


# One per thread, like a database connection: a worker process delivers one message at a time,
# and a threaded pool must not share a connection between its threads.
_local = threading.local()


def relay_connection() -> RelayConnection:
    if not hasattr(_local, "relay"):
        _local.relay = RelayConnection()
    relay: RelayConnection = _local.relay
    return relay


def requeue_stalled(now: datetime | None = None) -> int:
    """Queue again the messages whose delivery task was lost (see QUEUED_STALL)."""
    now = now or timezone.now()
    ids = list(
        SentMessage.objects.stalled(now, QUEUED_STALL, RETRY_STALL).values_list("pk", flat=True)[
            :1000
        ]
    )
    return sum(1 for pk in ids if queue.deliver_now(pk))
