"""Rules from the SES documentation, in one place for forms, models and the API.

Each function takes raw user input and returns the normalised value, or raises Django's
ValidationError with a message that says what is wrong and how to fix it. The API maps
ValidationError to BadRequestException, and the two subclasses below to their own codes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from functools import cache

import idna
import tldextract
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
)
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email


class AlreadyExistsError(ValidationError):
    """The resource exists already (SES: AlreadyExistsException)."""


class LimitExceededError(ValidationError):
    """A quota from the SES documentation would be exceeded (SES: LimitExceededException)."""


class NotFoundError(ValidationError):
    """A resource the input refers to does not exist (SES: NotFoundException)."""


MAX_DOMAIN_LENGTH = 255
MAX_IDNA_LENGTH = 253  # idna refuses longer names ("Domain too long")
MAX_LABEL_LENGTH = 63
# RFC 5321 4.5.3.1.1: at most 64 octets before the @. email-validator lets longer ones through.
MAX_LOCAL_PART_LENGTH = 64
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
RESERVED_TAG_PREFIX = "aws:"
TAG_PUNCTUATION = frozenset("_.:/=+-")
SELECTOR_PATTERN = re.compile(r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))\Z")
PRIVATE_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9+/]+={0,2}\Z")
MAX_PRIVATE_KEY_LENGTH = 20480
RESOURCE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z ]*PRIVATE KEY-----")


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # The bundled snapshot: validating a form must never reach the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalize_domain(value: str) -> str:
    """Return the domain IDNA-encoded and lower-cased, or raise ValidationError."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError("Enter a domain, for example example.com.", code="required")
    if "@" in raw:
        raise ValidationError(
            "A domain can't contain @. To verify a single address, choose Email address as "
            "the identity type.",
            code="invalid",
        )
    if "://" in raw or "/" in raw:
        raise ValidationError(
            "Enter only the domain name, without http:// or a path: for example example.com.",
            code="invalid",
        )
    raw = raw.rstrip(".")
    try:
        ascii_name = ascii_domain(raw)
    except idna.IDNAError as exc:
        if raw.isascii():
            # idna rejects over-long, empty or hyphen-edged labels before our own checks
            # run; give those problems their specific message rather than idna's wording.
            _check_domain_shape(raw.lower())
        raise ValidationError(
            f"“{raw}” is not a valid domain name ({exc}). Use letters, digits and hyphens, "
            "with dots between labels.",
            code="invalid",
        ) from exc
    _check_domain_shape(ascii_name)
    return ascii_name


def domain_lookup_name(value: str) -> str:
    """The form a domain is stored in (as `normalize_domain` returns it), for finding an
    existing identity by a name a caller typed: Example.COM. finds example.com. A name that
    cannot be IDNA-encoded comes back as given. No shape rules: a name they refuse was never
    stored, so it is simply not found."""
    try:
        return ascii_domain((value or "").strip().rstrip("."))
    except idna.IDNAError:
        return value


def ascii_domain(name: str) -> str:
    """`name` (stripped, without its final dot) IDNA-encoded and lower-cased, the form domain
    identities are stored in, without the shape rules; idna.IDNAError if it has none."""
    lowered = name.lower()
    if _is_plain_ldh(lowered):
        # What idna would return, without its per-code-point tables (most names are plain).
        return lowered
    return idna.encode(name, uts46=True).decode("ascii").lower()


def _is_plain_ldh(name: str) -> bool:
    """True when IDNA encoding leaves `name` (lower-case) unchanged: ASCII letters, digits and
    hyphens in labels of 1–63, no label edged with a hyphen or carrying one in the 3rd and 4th
    position (IDNA's rule, which also covers xn-- A-labels), at most IDNA's 253 characters."""
    return (
        len(name) <= MAX_IDNA_LENGTH
        and name.isascii()
        and all(LDH_LABEL.match(label) and label[2:4] != "--" for label in name.split("."))
    )


def _check_domain_shape(name: str) -> None:
    if len(name) > MAX_DOMAIN_LENGTH:
        raise ValidationError(
            f"The domain is {len(name)} characters long; a domain name can have at most "
            f"{MAX_DOMAIN_LENGTH}.",
            code="invalid",
        )
    labels = name.split(".")
    if len(labels) < 2:
        raise ValidationError(
            "Enter a full domain with at least two labels, for example example.com.",
            code="invalid",
        )
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise ValidationError(
                f"The label “{label[:20]}…” is {len(label)} characters long; each part between "
                f"dots can have at most {MAX_LABEL_LENGTH} characters.",
                code="invalid",
            )
        if not label:
            raise ValidationError(
                f"“{name}” has an empty part: two dots in a row, or a dot at the start. Remove "
                "the extra dot.",
                code="invalid",
            )
        if not LDH_LABEL.match(label):
            raise ValidationError(
                f"“{label}” is not a valid part of a domain name. Use letters, digits and "
                "hyphens, not starting or ending with a hyphen, and no empty parts (..).",
                code="invalid",
            )
    if labels[-1].isdigit():
        # No top-level domain is all digits: this is an IP address, which SES can't verify.
        raise ValidationError(
            f"“{name}” is an IP address, not a domain. Enter a domain name, for example "
            "example.com.",
            code="invalid",
        )
    suffix = _public_suffixes()(name)
    if not suffix.domain:
        raise ValidationError(
            f"“{name}” is a public suffix that many people's domains share. Enter your own "
            f"domain under it, for example example.{name}.",
            code="public_suffix",
        )


def www_warning(domain: str) -> str | None:
    """SES's tip: a `www.` identity won't verify the way users expect; suggest the apex."""
    if domain.startswith("www.") and domain.count(".") >= 2:
        apex = domain.removeprefix("www.")
        return (
            f"You entered {domain}. SES recommends verifying {apex} instead: a verified "
            f"domain covers all its subdomains, and records published for {domain} "
            "are often placed in the wrong zone."
        )
    return None


def normalize_email(value: str) -> str:
    """Return the address exactly as entered (SES addresses are case-sensitive)."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(
            "Enter an email address, for example sender@example.com.", code="required"
        )
    if "<" in raw or ">" in raw:
        raise ValidationError(
            "Enter the address alone, without a display name or angle brackets: "
            "sender@example.com, not Sender <sender@example.com>.",
            code="display_name",
        )
    try:
        validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"“{raw}” is not a valid email address: {exc} Enter it as name@example.com.",
            code="invalid",
        ) from exc
    local, _, domain = raw.rpartition("@")
    check_local_part(local)
    # SES stores the address as entered; the domain part must still be a real domain.
    try:
        normalize_domain(domain)
    except ValidationError as exc:
        raise ValidationError(
            f"The domain of “{raw}” is not valid: {exc.messages[0]}", code="invalid"
        ) from exc
    if len(raw) > 320 or not local:
        raise ValidationError("An email address can have at most 320 characters.", code="invalid")
    return raw


def check_local_part(local: str) -> None:
    """The part before the @: at most 64 characters (RFC 5321), counted in UTF-8 bytes."""
    size = len(local.encode())
    if size > MAX_LOCAL_PART_LENGTH:
        raise ValidationError(
            f"The part before the @ is {size} characters long; it can have at most "
            f"{MAX_LOCAL_PART_LENGTH}. Shorten it.",
            code="invalid",
        )


def looks_like_email(value: str) -> bool:
    return "@" in (value or "")


def normalize_identity(value: str) -> tuple[str, str]:
    """Classify an API/console identity string: ('EMAIL_ADDRESS'|'DOMAIN', normalised)."""
    if looks_like_email(value):
        return "EMAIL_ADDRESS", normalize_email(value)
    return "DOMAIN", normalize_domain(value)


def normalize_mail_from_domain(value: str, identity_domain: str) -> str:
    """The MAIL FROM domain must be a subdomain of the identity, never the domain itself."""
    domain = normalize_domain(value)
    if domain == identity_domain:
        raise ValidationError(
            f"The MAIL FROM domain must be a subdomain of {identity_domain}, not the domain "
            f"itself. Enter something like mail.{identity_domain}.",
            code="not_subdomain",
        )
    if not domain.endswith("." + identity_domain):
        raise ValidationError(
            f"{domain} is not a subdomain of {identity_domain}. Enter a subdomain such as "
            f"mail.{identity_domain}.",
            code="not_subdomain",
        )
    return domain


@dataclass(frozen=True)
class TagPair:
    key: str
    value: str


def _tag_text_problem(text: str) -> str | None:
    for char in text:
        if not (char.isalnum() or char.isspace() or char in TAG_PUNCTUATION):
            return char
    return None


def validate_tag(key: str, value: str) -> TagPair:
    if key is None or len(key) < 1:
        raise ValidationError("Enter a tag key; only the value may be empty.", code="invalid")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise ValidationError(
            f"The tag key “{key[:30]}…” is {len(key)} characters long; keys can have at most "
            f"{MAX_TAG_KEY_LENGTH}.",
            code="invalid",
        )
    value = value or ""
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise ValidationError(
            f"The value of tag “{key}” is {len(value)} characters long; values can have at "
            f"most {MAX_TAG_VALUE_LENGTH}.",
            code="invalid",
        )
    if key.lower().startswith(RESERVED_TAG_PREFIX):
        raise ValidationError(
            f"The tag key “{key}” starts with aws:, which is reserved for AWS. Choose another key.",
            code="reserved",
        )
    for label, text in (("key", key), ("value", value)):
        bad = _tag_text_problem(text)
        if bad is not None:
            raise ValidationError(
                f"The tag {label} “{text}” contains “{bad}”. Tags can contain letters, digits, "
                "spaces and _ . : / = + - only.",
                code="invalid",
            )
    return TagPair(key, value)


def validate_tags(
    pairs: list[tuple[str, str]], *, existing_keys: frozenset[str] = frozenset()
) -> list[TagPair]:
    """Validate a full tag set: each tag, unique keys, at most 50 including existing tags."""
    tags = [validate_tag(key, value) for key, value in pairs]
    seen: set[str] = set()
    for tag in tags:
        if tag.key in seen:
            raise ValidationError(
                f"The tag key “{tag.key}” appears twice. Each key can be used once per resource.",
                code="duplicate",
            )
        seen.add(tag.key)
    # Tags with the reserved aws: prefix (set by AWS itself) don't count towards the limit.
    counted = {key for key in existing_keys if not key.lower().startswith(RESERVED_TAG_PREFIX)}
    total = len(seen | counted)
    if total > MAX_TAGS:
        raise LimitExceededError(
            f"A resource can have at most {MAX_TAGS} tags; this would give it {total}. "
            "Remove some tags first.",
            code="limit",
        )
    return tags


def validate_selector(value: str) -> str:
    selector = (value or "").strip()
    if not selector:
        raise ValidationError(
            "Enter the selector name you published the public key under.", code="required"
        )
    if len(selector) > 63 or not SELECTOR_PATTERN.match(selector):
        raise ValidationError(
            f"“{selector}” is not a valid selector. Use 1–63 letters, digits and hyphens, "
            "not starting or ending with a hyphen, with no dots or other symbols.",
            code="invalid",
        )
    return selector


@dataclass(frozen=True)
class ParsedPrivateKey:
    base64_der: str  # what SES stores: base64 without armour or line breaks
    key_size: int
    public_key_base64: str  # the p= value of the DKIM TXT record
    cleaned: bool  # armour or whitespace was removed from what the user pasted


def parse_byodkim_private_key(value: str) -> ParsedPrivateKey:
    """Accept a pasted RSA private key (PKCS#1 or PKCS#8), with or without PEM armour."""
    raw = value or ""
    stripped = PEM_ARMOUR.sub("", raw)
    compact = "".join(stripped.split())
    cleaned = compact != raw
    if not compact:
        raise ValidationError("Paste the private key, base64-encoded.", code="required")
    if len(compact) > MAX_PRIVATE_KEY_LENGTH:
        raise ValidationError(
            f"The private key is {len(compact)} characters long; SES accepts at most "
            f"{MAX_PRIVATE_KEY_LENGTH}. Use a 1024- to 2048-bit RSA key.",
            code="invalid",
        )
    if not PRIVATE_KEY_PATTERN.match(compact):
        raise ValidationError(
            "The private key must be base64 (letters, digits, + and /, ending in at most two =). "
            "Paste the text between the BEGIN and END lines of the PEM file.",
            code="invalid",
        )
    try:
        der = base64.b64decode(compact, validate=True)
        key = load_der_private_key(der, password=None)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValidationError(
            "The private key could not be read. Paste an unencrypted RSA key in PKCS#1 or "
            "PKCS#8 format, for example the output of openssl genrsa -f4 2048.",
            code="invalid",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError(
            "The private key must be an RSA key; DKIM with SES uses RSA.", code="invalid"
        )
    if not 1024 <= key.key_size <= 2048:
        raise ValidationError(
            f"The private key is {key.key_size} bits; SES accepts RSA keys from 1024 to 2048 bits.",
            code="invalid",
        )
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return ParsedPrivateKey(
        base64_der=compact,
        key_size=key.key_size,
        public_key_base64=base64.b64encode(public).decode(),
        cleaned=cleaned,
    )


BYODKIM_CLEANED_NOTICE = (
    "We removed the BEGIN/END lines and line breaks from the private key, as SES expects."
)


def validate_resource_name(name: str, kind: str) -> str:
    """SES's one rule for the names of configuration sets, sending authorization policies and
    custom verification email templates: 1–64 ASCII letters, digits, underscores and hyphens.
    `kind` names the resource in the message ("configuration set")."""
    if not name:
        raise ValidationError(
            f"Enter a {kind} name: 1–64 letters, digits, underscores and hyphens.",
            code="required",
        )
    if not RESOURCE_NAME_PATTERN.match(name):
        raise ValidationError(
            f"“{name[:70]}” is not a valid {kind} name. Use 1–64 letters, digits, underscores "
            "and hyphens.",
            code="invalid",
        )
    return name


def validate_configuration_set_name(value: str) -> str:
    """Surrounding spaces are dropped: a name typed into a form or a JSON field."""
    return validate_resource_name((value or "").strip(), "configuration set")


MAX_POLICY_BYTES = 4096


def validate_policy_name(value: str) -> str:
    """Not stripped: the name arrives in the URL path of the policy calls, and a name with
    spaces is refused rather than quietly changed."""
    return validate_resource_name(value or "", "policy")


def validate_policy_document(value: str) -> str:
    """A sending authorization policy: a JSON object of at most 4 KB, stored as sent."""
    size = len((value or "").encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise ValidationError(
            f"The policy is {size:,} bytes; a sending authorization policy can be at most "
            f"{MAX_POLICY_BYTES:,} bytes (4 KB).",
            code="invalid",
        )
    try:
        document = json.loads(value or "")
    except (ValueError, RecursionError) as exc:
        raise ValidationError(
            f"The policy is not valid JSON ({exc}). Send the policy document as a JSON object.",
            code="invalid",
        ) from exc
    if not isinstance(document, dict):
        raise ValidationError(
            "The policy must be a JSON object with Version and Statement members.", code="invalid"
        )
    return value


# Names sesconsole writes into DNS messages itself (an RFC 2136 server's zone and TSIG key
# name): letters, digits, hyphens and underscores in labels of 1–63, at most 253 characters.
# DNS allows any byte in a label, but a name with CR/LF or spaces would carry those bytes onto
# whatever the connection reaches; no real zone or key name needs them.
DNS_NAME_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


def validate_dns_name(value: str, *, what: str = "name") -> str:
    """`value` without surrounding spaces or the final dot, if it is a plain DNS name."""
    name = (value or "").strip().rstrip(".")
    if (
        not name
        or len(name) > MAX_IDNA_LENGTH
        or not all(DNS_NAME_LABEL.match(label) for label in name.split("."))
    ):
        shown = name[:70].encode("unicode_escape").decode("ascii")
        raise ValidationError(
            f"“{shown}” is not a valid {what}. Use labels of 1–63 letters, digits, hyphens and "
            f"underscores separated by dots, at most {MAX_IDNA_LENGTH} characters in all.",
            code="invalid",
        )
    return name


def validate_tsig_key_name(value: str) -> None:
    """Model validator: the TSIG key name as in the server's key file (e.g. sesconsole-key)."""
    validate_dns_name(value, what="TSIG key name")


def validate_zone_name(value: str) -> None:
    """Model validator: a zone name, or "." for the root zone."""
    if (value or "").strip() != ".":
        validate_dns_name(value, what="zone name")


SNS_TOPIC_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}\Z"
)


def validate_sns_topic_arn(value: str) -> str:
    """An Amazon SNS topic ARN (v1 SetIdentityNotificationTopic). sesconsole stores it and
    reports it back; it never publishes to it."""
    if not SNS_TOPIC_ARN_PATTERN.match(value or ""):
        raise ValidationError(
            f"“{(value or '')[:300]}” is not an Amazon SNS topic ARN. Give one like "
            "arn:aws:sns:us-east-1:123456789012:ses-bounces.",
            code="invalid",
        )
    return value
