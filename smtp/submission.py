"""What DATA does: hand the SMTP transaction to the send operation, answer as SES does.

The whole message, as received, goes to `sending.operations.send` as raw content, with MAIL
FROM as the envelope sender and the RCPT TO addresses as the envelope recipients. The send
operation applies every SendRawEmail rule, including the X-SES-CONFIGURATION-SET,
X-SES-MESSAGE-TAGS and X-SES-*-ARN control headers SES reads from SMTP mail. This module's
only rule is the table from a refusal to SES's SMTP reply (ses-sending.md §12.4).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, DataError, InterfaceError, OperationalError

from accounts import actors
from sending.errors import RefusalKind, SendRefused
from sending.operations import KeyCheck, Outgoing, send

from . import replies
from .credentials import SmtpLogin

log = logging.getLogger(__name__)

# SES's SMTP reply for each kind of refusal; "{message}" is the send operation's text.
# UNVERIFIED texts (ses-sending.md §7, §12.4) are chosen here: a paused account answers
# "554 Sending paused for this account", an unverified MAIL FROM domain and every other
# content failure "554 Transaction failed: <reason>".
REFUSAL_REPLIES: dict[RefusalKind, str] = {
    RefusalKind.MESSAGE_REJECTED: "554 Message rejected: {message}",
    RefusalKind.ACCESS_DENIED: "554 Access denied: {message}",
    RefusalKind.RATE_EXCEEDED: "454 Throttling failure: {message}",
    RefusalKind.DAILY_QUOTA_EXCEEDED: "454 Throttling failure: {message}",
    RefusalKind.TOO_LARGE: replies.TOO_LONG,
    RefusalKind.SENDING_PAUSED: "554 Sending paused for this account",
    RefusalKind.TOO_MANY_RECIPIENTS: "554 Transaction failed: {message}",
    RefusalKind.MAIL_FROM_NOT_VERIFIED: "554 Transaction failed: {message}",
    RefusalKind.CONFIGURATION_SET_NOT_FOUND: "554 Transaction failed: {message}",
    RefusalKind.CONFIGURATION_SET_SENDING_PAUSED: "554 Transaction failed: {message}",
    RefusalKind.INVALID_PARAMETER: "554 Transaction failed: {message}",
    RefusalKind.NOT_FOUND: "554 Transaction failed: {message}",
    RefusalKind.KEY_NOT_ACTIVE: replies.KEY_NO_LONGER_ACTIVE,
}
# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. SES ends a list of
# identities that does not fit with "..." (DG troubleshoot-smtp).
MAX_REPLY = 510


def reply_line(text: str) -> str:
    """One ASCII line of at most MAX_REPLY characters (addresses may carry any character)."""
    line = " ".join(text.split())
    line = line.encode("ascii", errors="backslashreplace").decode("ascii")
    if len(line) > MAX_REPLY:
        line = line[: MAX_REPLY - 3] + "..."
    return line


def refusal_reply(refused: SendRefused) -> str:
    template = REFUSAL_REPLIES.get(refused.kind, "554 Transaction failed: {message}")
    return reply_line(template.format(message=refused.message))


def submit(login: SmtpLogin, mail_from: str, recipients: list[str], content: bytes) -> str:
    """Send one SMTP transaction; the reply to DATA.

    Runs on a worker thread. A database that cannot be reached gives a 4xx so the client
    keeps the message and retries; nothing is stored unless the send operation committed.
    A broker that cannot be reached does not: the message is committed before its delivery is
    queued, so it is accepted (a 4xx would have the client send it twice) and the sending
    sweep queues it when the broker is back (tests/faults/test_smtp_outages.py).
    """
    outgoing = Outgoing(
        account=login.account,
        region=login.region,
        actor=actors.smtp(login.access_key_id),
        operation="SendRawEmail",
        raw=content,
        envelope_recipients=list(recipients),
        envelope_sender=mail_from,
        key_check=KeyCheck(login.access_key_id),
        read_ahead=login.read_ahead,
    )
    try:
        message = send(outgoing)
    except SendRefused as refused:
        return refusal_reply(refused)
    except (OperationalError, InterfaceError) as exc:
        log.warning(
            "SMTP send by %s not stored, database unavailable: %s", login.access_key_id, exc
        )
        return replies.TEMPORARY_FAILURE
    except DataError:
        # Content the send operation let through but the database cannot hold (a NUL in a
        # header): sending it again would fail again, so the answer is permanent.
        log.warning("SMTP send by %s not storable", login.access_key_id, exc_info=True)
        return replies.UNSTORABLE
    except DatabaseError:
        log.exception("SMTP send by %s failed in the database", login.access_key_id)
        return replies.TEMPORARY_FAILURE
    log.info("SMTP message %s accepted from %s", message.message_id, login.access_key_id)
    return replies.ACCEPTED.format(message_id=message.message_id)
