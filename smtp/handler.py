"""aiosmtpd's handler hooks for the mail transaction: MAIL FROM, RCPT TO and DATA.

aiosmtpd has already required TLS and AUTH before any of these run (smtp.server). The hooks
collect the envelope; DATA hands envelope and message to smtp.submission on a worker thread
and answers with what it says.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.smtp import Envelope, Session

from sending import addresses
from sending.errors import SendRefused

from . import replies, submission
from .credentials import SmtpLogin

log = logging.getLogger(__name__)


def _well_formed(address: str, where: str) -> bool:
    """Whether the send operation would take the address (sending.addresses.parse): an
    address it would refuse after DATA is refused at once, with SES's 553 naming it."""
    try:
        addresses.parse(address, where)
    except SendRefused:
        return False
    return True


class Handler:
    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # aiosmtpd hands the null reverse-path over as "<>"; SES refuses it.
        if address in ("", "<>"):
            return replies.NULL_SENDER
        if not _well_formed(address, "MAIL FROM"):
            return replies.invalid_address(address)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return replies.OK

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= replies.MAX_COLLECTED_RECIPIENTS:
            return replies.TOO_MANY_COLLECTED
        if not _well_formed(address, "RCPT TO"):
            return replies.invalid_address(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.OK

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        login = session.auth_data
        assert isinstance(login, SmtpLogin)  # aiosmtpd lets DATA through only after AUTH
        try:
            return str(
                await server.state.run(
                    submission.submit,
                    login,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                )
            )
        except Exception:
            # A fault of sesconsole's, not the client's: a 4xx keeps the message with the
            # client, which tries again later.
            log.exception("SMTP DATA from %s failed", login.access_key_id)
            return replies.TEMPORARY_FAILURE
