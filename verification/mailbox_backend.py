"""A Django email backend for the embedded mode: keep each message in the console's Mailbox.

Without an SMTP server (EMAIL_HOST unset) users still need to click their verification links,
so messages are stored with their text, HTML and raw source and shown on the Mailbox page to
the account they were sent for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from .models import MailboxMessage  # the backend is imported while settings load

        stored = 0
        for message in email_messages:
            if not message.recipients():
                continue
            raw = message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
            MailboxMessage.objects.create(
                account_id=getattr(message, "account_id", None),
                region_id=getattr(message, "region_id", None),
                from_address=message.from_email,
                to_addresses=", ".join(message.to),
                subject=str(message.subject),
                text_body=str(message.body),
                html_body=_html_alternative(message),
                raw=raw.decode("utf-8", errors="replace"),
            )
            stored += 1
        return stored


def _html_alternative(message: Any) -> str:
    for alternative in getattr(message, "alternatives", []):
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html":
            return str(content)
    return ""
