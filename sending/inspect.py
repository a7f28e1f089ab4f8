"""What the console shows of a stored message: its parts, and whether its DKIM signature holds.

The signature is checked with dkimpy against the public key sesconsole holds for the selector
(not against public DNS: the console must never query the internet for a tenant, and the
stored key is what the published record should contain).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import dkim

from identities.models import DkimKey

from .models import SentMessage

_HREF = re.compile(r"""href=["'](https?://[^"']+)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Parts:
    headers: list[tuple[str, str]]
    text: str
    html: str

    @property
    def links(self) -> list[str]:
        """The web links of the HTML body, once each: the console lists them so that a
        verification link can be opened from the page (the body itself is in a sandbox)."""
        return list(dict.fromkeys(html.unescape(url) for url in _HREF.findall(self.html)))


def parts(message: SentMessage) -> Parts:
    parsed = BytesParser(policy=policy.default).parsebytes(message.raw_as_sent)
    assert isinstance(parsed, EmailMessage)
    return Parts(
        headers=[(name, str(value)) for name, value in parsed.items()],
        text=_body(parsed, "plain"),
        html=_body(parsed, "html"),
    )


def _body(parsed: EmailMessage, subtype: str) -> str:
    part = parsed.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return part.get_payload(decode=True).decode("utf-8", errors="replace")  # type: ignore[union-attr]


def dkim_result(message: SentMessage) -> str:
    """A sentence for the message page: signed or not, and whether the signature verifies."""
    if not message.dkim_signature:
        if message.is_finished:
            return "Not signed: no DKIM setup with signing enabled and verified covers the sender."
        return "Not signed yet: the message is signed when it is delivered."
    owner = message.identity.account_id if message.identity else message.account_id
    key = DkimKey.objects.filter(
        identity__account_id=owner,
        identity__name=message.dkim_domain,
        identity__region_id=message.region_id,
        selector=message.dkim_selector,
    ).first()
    where = f"d={message.dkim_domain}, s={message.dkim_selector}"
    if key is None:
        return f"Signed ({where}); the key has since been replaced, so it can't be checked here."
    record = f"{message.dkim_selector}._domainkey.{message.dkim_domain}.".encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return key.txt_value.encode() if name == record else None

    if dkim.verify(message.raw_as_sent, dnsfunc=dnsfunc):
        return f"Signed ({where}); the signature verifies with the identity's key."
    return f"Signed ({where}), but the signature does NOT verify with the identity's key."
