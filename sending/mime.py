"""The message as it leaves sesconsole: built from Simple content, or a Raw message rewritten.

What SES does to every message (ses-sending §11, DG header-fields), done here once:
- `Message-ID` becomes `<MessageId@...>` and `Date` the acceptance time, whatever was given;
- the control headers `X-SES-*` (configuration set, tags, the three ARNs, list management) are
  read, then removed; a raw `Bcc:` header is removed too (RFC 5322 §3.6.3 allows it; UNVERIFIED
  whether SES does — chosen so Bcc recipients stay hidden);
- a raw message keeps its other headers and its body byte for byte (line ends become CRLF).
Header injection is impossible by construction: Simple content's subject, header values and
file names are refused when they contain a line break, and addresses are checked in
`sending.addresses`.
"""

from __future__ import annotations

import mimetypes
import random
import re
import sys
from dataclasses import dataclass, field
from email import headerregistry, policy
from email.header import Header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from functools import cache, cached_property

from .errors import RefusalKind, SendRefused

MAX_LINE = 1000  # RFC 5321, CRLF included
MAX_SIMPLE_HEADERS = 15
_HEADER_NAME = re.compile(r"^[!-9;-@A-~]{1,126}\Z")
_HEADER_VALUE = re.compile(r"^[ -~]{1,995}\Z")

# Headers that may appear at most once (DG header-fields; the ones mail clients rely on).
SINGLETON_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept-Language", "Archived-At", "Auto-Submitted", "Bounces-to", "Comments",
        "Content-Alternative", "Content-Base", "Content-Class", "Content-Description",
        "Content-Disposition", "Content-Duration", "Content-ID", "Content-Language",
        "Content-Length", "Content-Location", "Content-MD5", "Content-Transfer-Encoding",
        "Content-Type", "Date", "DKIM-Signature", "Disposition-Notification-Options",
        "Disposition-Notification-To", "Encrypted", "Errors-To", "From", "Importance",
        "In-Reply-To", "List-Archive", "List-Help", "List-Id", "List-Owner", "List-Post",
        "List-Subscribe", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Context",
        "Message-ID", "MIME-Version", "Organization", "Original-From", "Original-Message-ID",
        "Original-Recipient", "Original-Subject", "Precedence", "Priority", "References",
        "Reply-To", "Return-Path", "Return-Receipt-To", "Sender", "Sensitivity", "Solicitation",
        "Subject", "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info",
    )
)  # fmt: skip
# Headers Simple content builds itself: a `Headers` entry may not set them (UNVERIFIED list).
STRUCTURAL_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "reply-to", "message-id", "date", "return-path",
     "mime-version", "content-type", "content-transfer-encoding", "dkim-signature"}
)  # fmt: skip
REMOVED_HEADERS = frozenset({"bcc", "message-id", "date", "return-path"})
CONTROL_PREFIX = "x-ses-"


@dataclass(frozen=True)
class Attachment:
    """One `Simple.Attachments` entry, as the v2 model has it."""

    content: bytes
    filename: str
    content_type: str = ""  # guessed from the file name when empty
    disposition: str = "ATTACHMENT"  # ATTACHMENT | INLINE
    description: str = ""
    content_id: str = ""
    transfer_encoding: str = ""  # BASE64 | QUOTED_PRINTABLE | SEVEN_BIT; empty: BASE64


@dataclass(frozen=True)
class Simple:
    """Simple content: subject, text and/or HTML bodies, extra headers, attachments."""

    subject: str
    text: str | None = None
    html: str | None = None
    subject_charset: str | None = None
    text_charset: str | None = None
    html_charset: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class RawParts:
    """A raw message split into its header fields (name, whole folded field) and its body."""

    fields: list[tuple[str, bytes]]
    body: bytes
    head: bytes  # the header section as given, LF line ends

    @cached_property
    def parsed(self) -> Message:
        """The headers as the `email` package's default policy reads them: the meaning of a
        header value here. Parsed only for a value `plain_value` can't read."""
        return BytesHeaderParser(policy=policy.default).parsebytes(self.head + b"\n\n")

    def first(self, name: str) -> str | None:
        values = self._values(name, first_only=True)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self._values(name, first_only=False)

    def _values(self, name: str, *, first_only: bool) -> list[str]:
        lower = name.lower()
        values = []
        for index, (field_name, line) in enumerate(self.fields):
            if field_name.lower() == lower:
                value = plain_value(field_name, line)
                if value is None:
                    value = self._parsed_value(name, index)
                if "\x00" in value:  # an encoded-word may carry one
                    raise _refuse(
                        f"The raw message's {field_name} header contains a NUL character. "
                        "Remove it: header values must be text."
                    )
                values.append(value)
                if first_only:
                    break
        return values

    def _parsed_value(self, name: str, index: int) -> str:
        """The default policy's reading of the field at `index` of `fields`."""
        position = sum(1 for n, _ in self.fields[:index] if n.lower() == name.lower())
        return str(self.parsed.get_all(name, [])[position])


# Header values `plain_value` reads without the `email` package: printable ASCII, no
# encoded-word. Address headers also need the one shape the default policy writes back
# unchanged: `addr@domain` or `Display Name <addr@domain>` (atoms, single spaces), ", " between.
_PLAIN_TEXT = re.compile(rb"[\t -~]*\Z")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_ADDR_SPEC = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_ADDRESS = rf"(?:{_ATEXT}+(?: {_ATEXT}+)* <{_ADDR_SPEC}>|{_ADDR_SPEC})"
_PLAIN_ADDRESSES = re.compile(rf"{_ADDRESS}(?:, {_ADDRESS})*\Z")


def plain_value(name: str, line: bytes) -> str | None:
    """The value the default policy gives for the header field `line` (as `RawParts.fields`
    holds it), read directly; None when the value needs the policy's parser.

    Reading every header through the `email` package's header registry cost about a sixth of
    an SMTP send's CPU (BENCHMARKS.md, issue 16); tests/sending/test_mime.py holds this to the
    policy's answer.
    """
    # As the policy reads a field: blanks after the colon dropped, then the line breaks.
    first, _, folded = line.partition(b":")[2].partition(b"\r\n")
    raw = first.lstrip(b" \t") + folded.replace(b"\r\n", b"")
    if b"=?" in raw or not _PLAIN_TEXT.match(raw):
        return None
    kind = _header_kind(name.lower())
    if kind is headerregistry.UnstructuredHeader:
        return raw.decode("ascii")
    if kind is headerregistry.AddressHeader:
        text = raw.decode("ascii").strip(" \t")
        return text if _PLAIN_ADDRESSES.match(text) else None
    return None


@cache
def _header_kind(lower_name: str) -> type | None:
    """UnstructuredHeader or AddressHeader when the default policy reads `lower_name` with
    that class's own parsing, else None (dates, message ids, MIME headers...)."""
    registry: headerregistry.HeaderRegistry = policy.default.header_factory  # type: ignore[assignment]
    parse = registry[lower_name].parse.__func__  # type: ignore[attr-defined]
    for kind in (headerregistry.UnstructuredHeader, headerregistry.AddressHeader):
        if parse is kind.parse.__func__:  # type: ignore[attr-defined]
            return kind
    return None


def _refuse(message: str) -> SendRefused:
    return SendRefused(RefusalKind.INVALID_PARAMETER, message)


def _no_line_breaks(value: str, what: str) -> None:
    if "\r" in value or "\n" in value:
        raise _refuse(f"{what} must not contain line breaks (CR or LF). Remove them.")


# --- Simple ----------------------------------------------------------------------------------
def check_simple(simple: Simple) -> None:
    """The v2 model's rules for Simple content, each refused with what to fix."""
    _no_line_breaks(simple.subject, "The subject")
    if simple.subject_charset is None and not simple.subject.isascii():
        raise _refuse(
            "The subject contains non-ASCII characters but no Charset. Set Subject.Charset "
            "(for example UTF-8) or use RFC 2047 encoded-words."
        )
    if simple.text is None and simple.html is None:
        raise _refuse("The message body is empty. Give Body.Text, Body.Html or both.")
    if len(simple.headers) > MAX_SIMPLE_HEADERS:
        raise _refuse(
            f"The message has {len(simple.headers)} custom headers; at most "
            f"{MAX_SIMPLE_HEADERS} are allowed."
        )
    for name, value in simple.headers:
        if not _HEADER_NAME.match(name):
            raise _refuse(
                f"The header name {name[:130]!r} is not valid: use 1–126 printable ASCII "
                "characters without spaces or colons."
            )
        if "\r" in value or "\n" in value or not _HEADER_VALUE.match(value):
            raise _refuse(
                f"The value of header {name} is not valid: use 1–995 printable ASCII "
                "characters, without line breaks."
            )
        if len(name) + len(value) > 996:
            raise _refuse(f"The header {name} is too long: name and value may have 996 characters.")
        if name.lower() in STRUCTURAL_HEADERS:
            raise _refuse(
                f"The header {name} is set by SES from the request; remove it from Headers "
                "and use the request's own members (FromEmailAddress, Destination, Subject…)."
            )
    for attachment in simple.attachments:
        _no_line_breaks(attachment.filename, "An attachment's FileName")
        _no_line_breaks(attachment.content_type, "An attachment's ContentType")
        _no_line_breaks(attachment.content_id, "An attachment's ContentId")
        _no_line_breaks(attachment.description, "An attachment's ContentDescription")


class SimpleMessage:
    """The bytes of a message built from Simple content, as `as_bytes()` gives them
    (the interface of the `EmailMessage` the send operation used to receive)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self) -> bytes:
        return self.data


def build_simple(
    simple: Simple, *, from_header: str, to: list[str], cc: list[str], reply_to: list[str]
) -> SimpleMessage:
    """The MIME message for Simple content (Message-ID and Date are added by `finish`).

    Building it through the `email` package's header registry and generator cost about a
    fifth of a SendEmail's CPU (BENCHMARKS.md, ninth session): the usual message (ASCII
    header values, bodies on short lines, text and/or HTML, no attachments) is written
    directly, as the package would write it; tests/sending/test_mime_build.py holds the two
    to the same bytes.
    """
    address_headers = [
        ("From", from_header),
        ("To", ", ".join(to)),
        ("Cc", ", ".join(cc)),
        ("Reply-To", ", ".join(reply_to)),
    ]
    direct = _plain_simple_bytes(simple, [(n, v) for n, v in address_headers if v])
    if direct is not None:
        return SimpleMessage(direct)
    return SimpleMessage(_email_package_message(simple, address_headers).as_bytes())


def _email_package_message(simple: Simple, address_headers: list[tuple[str, str]]) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    for name, value in address_headers:
        if value:
            message[name] = value
    message["Subject"] = (
        Header(simple.subject, simple.subject_charset).encode()
        if simple.subject_charset and not simple.subject.isascii()
        else simple.subject
    )
    message["MIME-Version"] = "1.0"
    for name, value in simple.headers:
        _add_custom_header(message, name, value)
    if simple.text is not None:
        message.set_content(simple.text, charset=simple.text_charset or "utf-8")
        if simple.html is not None:
            message.add_alternative(
                simple.html, subtype="html", charset=simple.html_charset or "utf-8"
            )
    else:
        message.set_content(
            simple.html or "", subtype="html", charset=simple.html_charset or "utf-8"
        )
    for attachment in simple.attachments:
        _attach(message, attachment)
    return message


def _add_custom_header(message: EmailMessage, name: str, value: str) -> None:
    """Add a `Headers` entry, refusing what the package's parser for that header refuses: a
    second Sender (ValueError), or a value it fails on (AttributeError for `Sender: .:`)."""
    try:
        message[name] = value
    except Exception as error:  # any parser failure is the value's fault
        raise _refuse(
            f"The value of header {name} is not valid for that header, or the header may appear "
            f"only once: {value[:100]!r}. Fix the value or remove the header."
        ) from error


# What the `email` package (policy.SMTP) writes back unchanged: a header line of at most 78
# characters whose value is printable ASCII words with single spaces and no encoded-word,
# and a body part on lines of at most 78 characters (7bit or 8bit: no re-encoding).
_FOLD_AT = 78
_PLAIN_UNSTRUCTURED = re.compile(r"[!-~]+(?: [!-~]+)*\Z")
_DIRECT_CHARSETS = frozenset({"utf-8", "us-ascii"})
_BOUNDARY_RANDOM = random.Random()


def _plain_simple_bytes(simple: Simple, address_headers: list[tuple[str, str]]) -> bytes | None:
    """The message `_email_package_message` writes, written directly; None when a value
    needs the package's encoding, folding or header checks."""
    if simple.attachments:
        return None
    lines = []
    for name, value in address_headers:
        if not _plain_line(name, value, _PLAIN_ADDRESSES):
            return None
        lines.append(f"{name}: {value}")
    if not _plain_line("Subject", simple.subject, _PLAIN_UNSTRUCTURED):
        return None
    lines += [f"Subject: {simple.subject}", "MIME-Version: 1.0"]
    for name, value in simple.headers:
        if name.lower().startswith("content-") or not _plain_custom_header(name, value):
            return None
        lines.append(f"{name}: {value}")
    if simple.text is not None and simple.html is not None:
        text = _plain_part("plain", simple.text, simple.text_charset)
        # The package's alternative part is a message of its own: it gets a MIME-Version.
        html = _plain_part("html", simple.html, simple.html_charset, "MIME-Version: 1.0\r\n")
        if text is None or html is None:
            return None
        boundary = _boundary(text + html)
        lines += [f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"', ""]
        delimiter = f"--{boundary}\r\n".encode()
        return b"".join(
            [
                "\r\n".join(lines).encode(),
                b"\r\n",
                delimiter,
                text,
                b"\r\n",
                delimiter,
                html,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
    if simple.text is not None:
        part = _plain_part("plain", simple.text, simple.text_charset)
    else:
        part = _plain_part("html", simple.html or "", simple.html_charset)
    if part is None:
        return None
    return "\r\n".join(lines).encode() + b"\r\n" + part


def _plain_line(name: str, value: str, shape: re.Pattern[str]) -> bool:
    """Whether `name: value` fits one line and `value` has `shape` without an encoded-word."""
    return (
        len(name) + 2 + len(value) <= _FOLD_AT
        and shape.match(value) is not None
        and "=?" not in value
    )


def _plain_custom_header(name: str, value: str) -> bool:
    """Whether the package would store `name: value` as written: free text (not an address,
    date or MIME header it parses), which may repeat (no count to check)."""
    return _free_text_header(name.lower()) and _plain_line(name, value, _PLAIN_UNSTRUCTURED)


@cache
def _free_text_header(lower_name: str) -> bool:
    # Cached: the registry builds a new class on every lookup.
    registry: headerregistry.HeaderRegistry = policy.default.header_factory  # type: ignore[assignment]
    return (
        _header_kind(lower_name) is headerregistry.UnstructuredHeader
        and registry[lower_name].max_count is None
    )


def _plain_part(
    subtype: str, content: str, charset: str | None, more_headers: str = ""
) -> bytes | None:
    """A text part's Content-Type and Content-Transfer-Encoding headers, blank line and body,
    when the package keeps the encoded lines as they are (at most 78 characters: 7bit for
    ASCII, 8bit for UTF-8); else None."""
    charset = charset or "utf-8"
    if charset.lower() not in _DIRECT_CHARSETS:
        return None
    try:
        data = content.encode(charset)
    except UnicodeEncodeError:  # the package refuses it
        return None
    body_lines = data.splitlines()
    if any(len(line) > _FOLD_AT for line in body_lines):
        return None
    head = (
        f'Content-Type: text/{subtype}; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: {'7bit' if data.isascii() else '8bit'}\r\n"
        f"{more_headers}\r\n"
    )
    return head.encode() + b"\r\n".join(body_lines) + b"\r\n"


def _boundary(content: bytes) -> str:
    """A multipart boundary in the `email` package's form, absent from the parts' content."""
    while True:
        boundary = f"==============={_BOUNDARY_RANDOM.randrange(sys.maxsize):019d}=="
        if boundary.encode() not in content:
            return boundary


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    content_type = attachment.content_type or (
        mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
    )
    maintype, _, subtype = content_type.partition("/")
    cte = {"QUOTED_PRINTABLE": "quoted-printable", "SEVEN_BIT": "7bit"}.get(
        attachment.transfer_encoding, "base64"
    )
    headers = []
    if attachment.content_id:
        headers.append(f"Content-ID: <{attachment.content_id.strip('<>')}>")
    if attachment.description:
        headers.append(f"Content-Description: {attachment.description}")
    message.add_attachment(
        attachment.content,
        maintype=maintype or "application",
        subtype=subtype or "octet-stream",
        filename=attachment.filename,
        disposition="inline" if attachment.disposition == "INLINE" else "attachment",
        cte=cte,
        headers=headers,
    )


# --- Raw -------------------------------------------------------------------------------------
def split_raw(raw: bytes) -> RawParts:
    """Split a raw message into header fields and body, checking SES's raw-message rules."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        if data.rstrip(b"\n") and b":" in data.split(b"\n", 1)[0]:
            head, body = data.rstrip(b"\n"), b""
        else:
            raise _refuse(
                "The raw message has no header section: start it with headers such as "
                "From, To and Subject, then a blank line, then the body."
            )
    lines = head.split(b"\n")
    if b"\x00" in head:
        number = next(n for n, line in enumerate(lines, start=1) if b"\x00" in line)
        raise _refuse(
            f"Line {number} of the raw message's header section contains a NUL byte. Remove "
            "it: header fields must be text."
        )
    for number, line in enumerate([*lines, *body.split(b"\n")], start=1):
        if len(line) + 2 > MAX_LINE:
            raise _refuse(
                f"Line {number} of the raw message has {len(line) + 2} characters with its CRLF; "
                f"lines may have at most {MAX_LINE}. Encode long parts as base64 or "
                "quoted-printable."
            )
    fields: list[tuple[str, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            previous_name, previous = fields[-1]
            fields[-1] = (previous_name, previous + b"\r\n" + line)
            continue
        field_name, colon, _ = line.partition(b":")
        if not colon or not field_name or not re.fullmatch(rb"[!-9;-~]+", field_name):
            raise _refuse(
                f"The raw message's header line {line[:60]!r} is not a header field "
                "(Name: value). A blank line must separate the headers from the body."
            )
        fields.append((field_name.decode("ascii"), line))
    seen: set[str] = set()
    for name, _ in fields:
        lower = name.lower()
        if lower in SINGLETON_HEADERS and lower in seen:
            raise _refuse(f"Duplicate header '{name}'. It may appear only once in a message.")
        seen.add(lower)
    return RawParts(fields=fields, body=body.replace(b"\n", b"\r\n"), head=head)


def control_headers(parts: RawParts) -> dict[str, str]:
    """The X-SES-* control headers (lower-case names), the first of each when repeated."""
    found: dict[str, str] = {}
    for name, _ in parts.fields:
        lower = name.lower()
        if lower.startswith(CONTROL_PREFIX) and lower not in found:
            found[lower] = (parts.first(name) or "").strip()
    return found


# --- both (Simple content is serialised, then finished like a raw message) ------------------
def finish_raw(parts: RawParts, *, message_id_header: str, date: str) -> bytes:
    """The raw message as sent: SES's Message-ID and Date first, control headers removed."""
    kept = [
        line
        for name, line in parts.fields
        if name.lower() not in REMOVED_HEADERS and not name.lower().startswith(CONTROL_PREFIX)
    ]
    head = [f"Message-ID: {message_id_header}".encode(), f"Date: {date}".encode(), *kept]
    return b"\r\n".join(head) + b"\r\n\r\n" + parts.body
