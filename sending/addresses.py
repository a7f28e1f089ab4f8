"""Addresses as SES reads them: a header value with an optional display name, checked.

SES refuses an unparsable address with `InvalidParameterValue` and one of a few texts
("Missing final '@domain'", "Missing local name", ...: ses-sending §2); its local parts and
display names must be 7-bit (SMTPUTF8 is not supported; non-ASCII names use RFC 2047
encoded-words) and an IDN domain is sent as Punycode. A line break anywhere in an address is
header injection and is refused the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import formataddr, getaddresses, parseaddr
from functools import lru_cache

from .errors import RefusalKind, SendRefused

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOCAL_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")
_DOMAIN = re.compile(
    r"^(?=.{1,253}\Z)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}\Z"
)


@dataclass(frozen=True)
class Address:
    """`original` as given (display name included), `email` the bare address."""

    original: str
    display_name: str  # decoded from any RFC 2047 encoded-words
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


def _invalid(what: str, value: str, reason: str) -> SendRefused:
    return SendRefused(
        RefusalKind.INVALID_PARAMETER,
        f"{reason}: {value!r} in {what}. Write an address as name@example.com or "
        '"Display Name <name@example.com>".',
    )


def parse(value: str, what: str) -> Address:
    """One address (with or without a display name), or SendRefused(INVALID_PARAMETER)
    naming `what` (the parameter or header it came from)."""
    try:
        return _parsed(value or "")
    except _Invalid as invalid:
        raise _invalid(what, value or "", invalid.reason) from None


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Address:
    """Remembered per process (the answer depends only on the text; Address is immutable),
    whatever parameter it came in: an application sends from the same From and MAIL FROM on
    every message, and SMTP's RCPT TO check parses each recipient the send operation parses
    again after DATA. Parsing them again was about a tenth of an SMTP send's CPU
    (BENCHMARKS.md, issue 16)."""
    if "\r" in text or "\n" in text:
        raise _Invalid("Illegal address (line breaks are not allowed)")
    if _CONTROL.search(text):
        raise _Invalid("Domain contains control or whitespace")
    if not text.isascii():
        raise _Invalid(
            "Illegal address (non-ASCII characters: encode a display name as an RFC 2047 "
            "encoded-word and a domain as Punycode; SMTPUTF8 local parts are not supported)"
        )
    name, email = parseaddr(text)
    if not email and "@" not in text:
        raise _Invalid("Missing final '@domain'")
    if not email:
        raise _Invalid("Invalid email address")
    local, at, domain = email.rpartition("@")
    if not at:
        raise _Invalid("Missing final '@domain'")
    if not local:
        raise _Invalid("Missing local name")
    if not domain:
        raise _Invalid("Missing domain")
    if " " in email or "\t" in email:
        raise _Invalid("Domain contains control or whitespace")
    if not (_LOCAL_ATOM.match(local) or (local.startswith('"') and local.endswith('"'))):
        raise _Invalid("Invalid email address")
    if ".." in local or local.startswith(".") or local.endswith("."):
        raise _Invalid("Invalid email address")
    if not _DOMAIN.match(domain.rstrip(".")):
        raise _Invalid("Invalid email address")
    if len(email) > 320:
        raise _Invalid("Invalid email address (longer than 320 characters)")
    return Address(original=text.strip(), display_name=_decoded(name), email=email)


def parse_list(values: list[str], what: str) -> list[Address]:
    return [parse(value, what) for value in values]


def parse_header_list(value: str, what: str) -> list[Address]:
    """The addresses of a To/Cc/Bcc header of a raw message."""
    if not value:
        return []
    pairs = getaddresses([value])
    found = []
    for name, email in pairs:
        if not email:
            raise _invalid(what, value, "Invalid email address")
        found.append(parse(formataddr((name, email)), what))
    return found


def _decoded(name: str) -> str:
    try:
        return str(make_header(decode_header(name)))
    except (ValueError, LookupError):
        return name
