"""Render one verification mail, and the DKIM and SMTP helpers every outgoing mail uses.

The mail is built here and handed to the account's outbox (`sending.outbox`), which stores it
as a sent message and delivers it like any other: DKIM-signed with `signer_for_address`, to the
relay or kept for the console's Sent messages page. The default mail mirrors SES's
("… – Email Address Verification Request in region <Region name>"); a custom template's mail
is its subject and HTML, then our link, then SES's fixed footer, which templates can't remove
(FAQ Q10). Embedded base64 images become inline attachments (FAQ Q4). No tracking and no
custom headers are ever added (FAQ Q8, Q9).
"""

from __future__ import annotations

import email.utils
import html
import logging
import re
import smtplib
from dataclasses import dataclass, field
from email.mime.image import MIMEImage
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from identities.hierarchy import dkim_signing_key
from templates_app import html_rules

from .models import VerificationLink

log = logging.getLogger(__name__)

FOOTER_TEXT = (
    "If you did not request to verify this email address, please disregard this message. "
    "If you have any concerns, please forward this message to the following email address "
    "along with your questions or comments."
)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    [
        "address",
        "blockquote",
        "br",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "table",
        "tr",
        "ul",
    ]
)


class MailRenderError(Exception):
    """The mail can't be built (template deleted or broken): retrying won't help."""


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    private_key_pem: bytes = field(repr=False)


@dataclass
class RenderedMail:
    subject: str
    from_email: str
    to: str
    text: str
    html: str
    images: list[html_rules.InlineImage] = field(default_factory=list)


# --- transient or permanent -------------------------------------------------------------------
def is_transient(exc: BaseException) -> bool:
    """Worth retrying later: the server is unreachable, hung up, or answered 4xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, ConnectionError | TimeoutError)


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        details = "; ".join(
            f"{address}: {code} {message.decode(errors='replace')}"
            for address, (code, message) in exc.recipients.items()
        )
        return f"The mail server refused the recipient ({details})."
    if isinstance(exc, smtplib.SMTPResponseException):
        message = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        return f"The mail server answered {exc.smtp_code} {message}."
    if isinstance(exc, ConnectionRefusedError):
        return "The mail server refused the connection (is it running?)."
    return f"{type(exc).__name__}: {exc}"


# --- rendering --------------------------------------------------------------------------------
def link_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "verification:confirm", kwargs={"token": token}
    )


def render(link: VerificationLink, token: str) -> RenderedMail:
    url = link_url(token)
    if link.template_name:
        return _render_custom(link, url)
    return _render_default(link, url)


def _render_default(link: VerificationLink, url: str) -> RenderedMail:
    context = {
        "brand": settings.VERIFICATION_MAIL_BRAND,
        "region": link.region,
        "address": link.email_address,
        "url": url,
        "concerns_address": settings.VERIFICATION_CONCERNS_ADDRESS,
    }
    subject = f"{settings.VERIFICATION_MAIL_BRAND} – Email Address Verification Request in region {link.region.name}"
    return RenderedMail(
        subject=subject,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=link.email_address,
        text=render_to_string("verification/mail/default.txt", context),
        html=render_to_string("verification/mail/default.html", context),
    )


def _render_custom(link: VerificationLink, url: str) -> RenderedMail:
    template = link.template
    if template is None:
        raise MailRenderError(
            f"The custom verification email template {link.template_name} was deleted before "
            "the mail could be sent. Send the verification email again with another template."
        )
    try:
        content, images = html_rules.extract_inline_images(template.content)
    except html_rules.TemplateHtmlError as exc:
        raise MailRenderError(f"The template {template.name} is not valid: {exc}") from exc
    concerns = settings.VERIFICATION_CONCERNS_ADDRESS
    appended = (
        f"<p>To verify {html.escape(link.email_address)}, open this link within 24 hours:<br>"
        f'<a href="{html.escape(url)}">{html.escape(url)}</a></p>'
        f"<p>{html.escape(FOOTER_TEXT).replace('following email address', _mailto(concerns))}</p>"
    )
    text = (
        f"{html_to_text(content)}\n\nTo verify {link.email_address}, open this link within "
        f"24 hours:\n{url}\n\n{FOOTER_TEXT}\n{concerns}\n"
    )
    return RenderedMail(
        subject=template.subject,
        from_email=template.from_email_address,
        to=link.email_address,
        text=text,
        html=_append_to_body(content, appended),
        images=images,
    )


def _mailto(address: str) -> str:
    return f'following <a href="mailto:{html.escape(address)}">email address</a>'


def _append_to_body(content: str, addition: str) -> str:
    ends = list(_BODY_END.finditer(content))
    if not ends:
        return content + addition
    at = ends[-1].start()
    return content[:at] + addition + content[at:]


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._skip += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._skip = max(0, self._skip - 1)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """A readable text part for a template (already validated, so html.parser is safe)."""
    extractor = _TextExtractor()
    extractor.feed(content)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- DKIM -------------------------------------------------------------------------------------
def signer_for_address(account_id: str, region_id: str, from_email: str) -> DkimSigner | None:
    """Sign when the From address's domain has a verified DKIM setup in this account and
    region, with the key of its first token (Easy DKIM) or its selector (BYODKIM). Used for
    verification mails and for every sent message (sending.delivery)."""
    found = dkim_signing_key(account_id, region_id, from_email)
    if found is None:
        return None
    identity, key = found
    if key is None:
        log.warning(
            "DKIM verified but no key; sending unsigned identity=%s selector=%s",
            identity.pk,
            identity.dkim_tokens[0],
        )
        return None
    # dkimpy reads PKCS#1 and PKCS#8 DER inside any PEM armour. Loading the key with
    # `cryptography` first would cost ~70 ms per mail (it checks the key) for nothing.
    der_base64 = key.private_key_base64().encode("ascii")
    pem = b"-----BEGIN PRIVATE KEY-----\n" + der_base64 + b"\n-----END PRIVATE KEY-----\n"
    return DkimSigner(domain=identity.domain, selector=key.selector, private_key_pem=pem)


def build(link: VerificationLink, mail: RenderedMail) -> EmailMultiAlternatives:
    """The MIME message, unsigned: sending.delivery signs it when it leaves."""
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "sesconsole.localhost"
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text,
        from_email=mail.from_email,
        to=[mail.to],
        # Set here so Django doesn't look up the machine's FQDN, which can block for seconds.
        headers={"Message-ID": f"<{link.message_id}@{host}>", "Date": email.utils.formatdate()},
    )
    message.attach_alternative(mail.html, "text/html")
    if mail.images:
        # multipart/related keeps the images with the HTML that shows them.
        message.mixed_subtype = "related"  # type: ignore[attr-defined]
        for image in mail.images:
            part = MIMEImage(image.data, _subtype=image.subtype)
            part.add_header("Content-ID", f"<{image.content_id}>")
            part.add_header(
                "Content-Disposition",
                "inline",
                filename=f"{image.content_id.split('@')[0]}.{image.subtype}",
            )
            message.attach(part)
    return message
