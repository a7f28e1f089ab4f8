"""The SES input rules in sesconsole/validators.py: normalised values and exact messages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from sesconsole import validators
from sesconsole.validators import (
    LimitExceededError,
    normalize_domain,
    normalize_email,
    normalize_identity,
    normalize_mail_from_domain,
    parse_byodkim_private_key,
    validate_configuration_set_name,
    validate_selector,
    validate_tag,
    validate_tags,
    www_warning,
)
from tests.support import keys

LABEL_MESSAGE = (
    "“{label}” is not a valid part of a domain name. Use letters, digits and hyphens, not "
    "starting or ending with a hyphen, and no empty parts (..)."
)


def error_of(func, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# --- normalize_domain ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.COM", "example.com"),
        ("  Example.Com  ", "example.com"),
        ("example.com.", "example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("mail.sub.example.co.uk", "mail.sub.example.co.uk"),
        ("www.example.com", "www.example.com"),
        ("a-b.example.com", "a-b.example.com"),
        ("123.example.com", "123.example.com"),
    ],
)
def test_normalize_domain_returns_lower_case_idna(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


def test_normalize_domain_accepts_label_of_63() -> None:
    name = "a" * 63 + ".com"
    assert normalize_domain(name) == name


def test_normalize_domain_rejects_label_of_64_with_message() -> None:
    error = error_of(normalize_domain, "a" * 64 + ".com")
    assert error.messages == [
        f"The label “{'a' * 20}…” is 64 characters long; each part between dots can have at "
        "most 63 characters."
    ]


def test_normalize_domain_accepts_253_characters() -> None:
    name = ".".join(["a" * 63] * 3) + "." + "a" * 61
    assert len(name) == 253
    assert normalize_domain(name) == name


def test_normalize_domain_rejects_254_characters() -> None:
    # 253 is the most DNS can carry (255 octets on the wire); idna enforces it.
    name = ".".join(["a" * 63] * 3) + "." + "a" * 62
    error = error_of(normalize_domain, name)
    assert error.code == "invalid"
    assert error.messages == [
        f"“{name}” is not a valid domain name (Domain too long). Use letters, digits and "
        "hyphens, with dots between labels."
    ]


def test_normalize_domain_rejects_over_255_characters_with_length_message() -> None:
    name = ".".join(["a" * 50] * 6)
    assert len(name) == 305
    error = error_of(normalize_domain, name)
    assert error.messages == [
        "The domain is 305 characters long; a domain name can have at most 255."
    ]


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("-a.com", "-a"),
        ("a-.com", "a-"),
        ("example.-com", "-com"),
        ("a_b.com", "a_b"),
        ("_dmarc.example.com", "_dmarc"),
    ],
)
def test_normalize_domain_rejects_bad_label(raw: str, label: str) -> None:
    error = error_of(normalize_domain, raw)
    assert error.code == "invalid"
    assert error.messages == [LABEL_MESSAGE.format(label=label)]


@pytest.mark.parametrize("raw", ["a..com", ".example.com", "a..acme-demo.com"])
def test_normalize_domain_names_the_empty_part(raw: str) -> None:
    # Quoting the empty label ("“” is not a valid part …") told the user nothing.
    error = error_of(normalize_domain, raw)
    assert error.code == "invalid"
    assert error.messages == [
        f"“{raw}” has an empty part: two dots in a row, or a dot at the start. "
        "Remove the extra dot."
    ]


def test_normalize_domain_rejects_non_ascii_with_invalid_character() -> None:
    error = error_of(normalize_domain, "bü_cher.com")
    assert error.messages == [
        "“bü_cher.com” is not a valid domain name (Codepoint U+005F at position 3 of "
        "'bü_cher' not allowed). Use letters, digits and hyphens, with dots between labels."
    ]


def test_normalize_domain_rejects_space() -> None:
    error = error_of(normalize_domain, "ex ample.com")
    assert error.messages == [LABEL_MESSAGE.format(label="ex ample")]


@pytest.mark.parametrize("raw", ["co.uk", "CO.UK", "com.au"])
def test_normalize_domain_rejects_public_suffix(raw: str) -> None:
    error = error_of(normalize_domain, raw)
    suffix = raw.lower()
    assert error.code == "public_suffix"
    assert error.messages == [
        f"“{suffix}” is a public suffix that many people's domains share. Enter your own "
        f"domain under it, for example example.{suffix}."
    ]


@pytest.mark.parametrize("raw", ["localhost", "com", "example."])
def test_normalize_domain_rejects_single_label(raw: str) -> None:
    error = error_of(normalize_domain, raw)
    assert error.messages == [
        "Enter a full domain with at least two labels, for example example.com."
    ]


def test_normalize_domain_rejects_ip_address() -> None:
    error = error_of(normalize_domain, "192.0.2.1")
    assert error.messages == [
        "“192.0.2.1” is an IP address, not a domain. Enter a domain name, for example example.com."
    ]


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_normalize_domain_requires_a_value(raw: str | None) -> None:
    error = error_of(normalize_domain, raw)
    assert error.code == "required"
    assert error.messages == ["Enter a domain, for example example.com."]


def test_normalize_domain_rejects_address_with_message() -> None:
    error = error_of(normalize_domain, "sender@example.com")
    assert error.messages == [
        "A domain can't contain @. To verify a single address, choose Email address as the "
        "identity type."
    ]


@pytest.mark.parametrize("raw", ["http://example.com", "https://example.com/", "example.com/x"])
def test_normalize_domain_rejects_url_with_message(raw: str) -> None:
    error = error_of(normalize_domain, raw)
    assert error.messages == [
        "Enter only the domain name, without http:// or a path: for example example.com."
    ]


# --- www_warning -----------------------------------------------------------------------------
def test_www_warning_suggests_apex() -> None:
    assert www_warning("www.example.com") == (
        "You entered www.example.com. SES recommends verifying example.com instead: a verified "
        "domain covers all its subdomains, and records published for www.example.com are "
        "often placed in the wrong zone."
    )


@pytest.mark.parametrize(
    "domain", ["example.com", "www.com", "wwwx.example.com", "a.www.example.com"]
)
def test_www_warning_is_none_otherwise(domain: str) -> None:
    assert www_warning(domain) is None


# --- normalize_email -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sender@example.com", "sender@example.com"),
        ("Sender@Example.COM", "Sender@Example.COM"),
        ("  sender@example.com \n", "sender@example.com"),
        ("sender+label@example.com", "sender+label@example.com"),
        ("ünïcode@example.com", "ünïcode@example.com"),
        ("user@bücher.example", "user@bücher.example"),
    ],
)
def test_normalize_email_keeps_address_as_entered(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["Sender <sender@example.com>", "<sender@example.com>"])
def test_normalize_email_rejects_display_name(raw: str) -> None:
    error = error_of(normalize_email, raw)
    assert error.code == "display_name"
    assert error.messages == [
        "Enter the address alone, without a display name or angle brackets: "
        "sender@example.com, not Sender <sender@example.com>."
    ]


def test_normalize_email_requires_a_value() -> None:
    error = error_of(normalize_email, " ")
    assert error.code == "required"
    assert error.messages == ["Enter an email address, for example sender@example.com."]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("nope", "An email address must have an @-sign."),
        ("@example.com", "There must be something before the @-sign."),
        ("a@", "There must be something after the @-sign."),
        (
            "a b@example.com",
            "The email address contains invalid characters before the @-sign: SPACE.",
        ),
        ("a@localhost", "The part after the @-sign is not valid. It should have a period."),
    ],
)
def test_normalize_email_rejects_invalid_address(raw: str, reason: str) -> None:
    error = error_of(normalize_email, raw)
    assert error.code == "invalid"
    assert error.messages == [
        f"“{raw}” is not a valid email address: {reason} Enter it as name@example.com."
    ]


def test_normalize_email_rejects_public_suffix_domain() -> None:
    error = error_of(normalize_email, "a@co.uk")
    assert error.messages == [
        "The domain of “a@co.uk” is not valid: “co.uk” is a public suffix that many people's "
        "domains share. Enter your own domain under it, for example example.co.uk."
    ]


# --- normalize_identity ----------------------------------------------------------------------
def test_normalize_identity_classifies_email() -> None:
    assert normalize_identity("Sender@Example.com") == ("EMAIL_ADDRESS", "Sender@Example.com")


def test_normalize_identity_classifies_domain() -> None:
    assert normalize_identity("Example.COM.") == ("DOMAIN", "example.com")


def test_normalize_identity_passes_errors_through() -> None:
    error = error_of(normalize_identity, "Sender <s@example.com>")
    assert error.code == "display_name"


# --- normalize_mail_from_domain --------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail.example.com", "mail.example.com"),
        ("MAIL.Example.COM.", "mail.example.com"),
        ("a.b.c.example.com", "a.b.c.example.com"),
        ("Bücher.example.com", "xn--bcher-kva.example.com"),
    ],
)
def test_normalize_mail_from_domain_accepts_subdomain(raw: str, expected: str) -> None:
    assert normalize_mail_from_domain(raw, "example.com") == expected


def test_normalize_mail_from_domain_rejects_the_domain_itself() -> None:
    error = error_of(normalize_mail_from_domain, "Example.com", "example.com")
    assert error.code == "not_subdomain"
    assert error.messages == [
        "The MAIL FROM domain must be a subdomain of example.com, not the domain itself. "
        "Enter something like mail.example.com."
    ]


@pytest.mark.parametrize(
    "raw", ["other.com", "badexample.com", "mail.example.org", "com.example.net"]
)
def test_normalize_mail_from_domain_rejects_other_domain(raw: str) -> None:
    error = error_of(normalize_mail_from_domain, raw, "example.com")
    assert error.code == "not_subdomain"
    assert error.messages == [
        f"{raw} is not a subdomain of example.com. Enter a subdomain such as mail.example.com."
    ]


def test_normalize_mail_from_domain_rejects_sibling_subdomain() -> None:
    error = error_of(normalize_mail_from_domain, "mail.other.example.com", "sub.example.com")
    assert error.messages == [
        "mail.other.example.com is not a subdomain of sub.example.com. Enter a subdomain "
        "such as mail.sub.example.com."
    ]


def test_normalize_mail_from_domain_validates_the_domain_first() -> None:
    error = error_of(normalize_mail_from_domain, "ma_il.example.com", "example.com")
    assert error.messages == [LABEL_MESSAGE.format(label="ma_il")]


# --- validate_tag / validate_tags ------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("k", ""),
        ("k" * 128, "v" * 256),
        ("Environment", "prod"),
        ("éÑ 中 _.:/=+-", "ü ß 1 _.:/=+-"),
        ("team", "a b\tc"),
        ("awsome", "x"),
        ("my:aws:key", "x"),
    ],
)
def test_validate_tag_accepts(key: str, value: str) -> None:
    assert validate_tag(key, value) == validators.TagPair(key, value)


def test_validate_tag_treats_missing_value_as_empty() -> None:
    assert validate_tag("k", None) == validators.TagPair("k", "")


@pytest.mark.parametrize("key", ["", None])
def test_validate_tag_requires_key(key: str | None) -> None:
    error = error_of(validate_tag, key, "v")
    assert error.messages == ["Enter a tag key; only the value may be empty."]


def test_validate_tag_rejects_key_of_129() -> None:
    error = error_of(validate_tag, "k" * 129, "")
    assert error.messages == [
        f"The tag key “{'k' * 30}…” is 129 characters long; keys can have at most 128."
    ]


def test_validate_tag_rejects_value_of_257() -> None:
    error = error_of(validate_tag, "k", "v" * 257)
    assert error.messages == [
        "The value of tag “k” is 257 characters long; values can have at most 256."
    ]


@pytest.mark.parametrize("key", ["aws:x", "AWS:x", "Aws:Key", "aWs:", "aws:"])
def test_validate_tag_rejects_aws_prefix_in_any_case(key: str) -> None:
    error = error_of(validate_tag, key, "")
    assert error.code == "reserved"
    assert error.messages == [
        f"The tag key “{key}” starts with aws:, which is reserved for AWS. Choose another key."
    ]


@pytest.mark.parametrize(
    ("key", "value", "label", "text", "bad"),
    [
        ("a@b", "", "key", "a@b", "@"),
        ("k", "v!", "value", "v!", "!"),
        ("k", "a,b", "value", "a,b", ","),
        ("k#", "", "key", "k#", "#"),
    ],
)
def test_validate_tag_rejects_characters(
    key: str, value: str, label: str, text: str, bad: str
) -> None:
    error = error_of(validate_tag, key, value)
    assert error.messages == [
        f"The tag {label} “{text}” contains “{bad}”. Tags can contain letters, digits, spaces "
        "and _ . : / = + - only."
    ]


def test_validate_tags_returns_pairs_in_order() -> None:
    assert validate_tags([("b", "2"), ("a", "1")]) == [
        validators.TagPair("b", "2"),
        validators.TagPair("a", "1"),
    ]


def test_validate_tags_rejects_duplicate_keys() -> None:
    error = error_of(validate_tags, [("a", "1"), ("a", "2")])
    assert error.code == "duplicate"
    assert error.messages == [
        "The tag key “a” appears twice. Each key can be used once per resource."
    ]


def test_validate_tags_keys_are_case_sensitive() -> None:
    assert len(validate_tags([("A", ""), ("a", "")])) == 2


def test_validate_tags_accepts_50() -> None:
    assert len(validate_tags([(f"k{i}", "") for i in range(50)])) == 50


def test_validate_tags_rejects_51_with_limit_exceeded() -> None:
    with pytest.raises(LimitExceededError) as info:
        validate_tags([(f"k{i}", "") for i in range(51)])
    assert info.value.code == "limit"
    assert info.value.messages == [
        "A resource can have at most 50 tags; this would give it 51. Remove some tags first."
    ]


def test_validate_tags_counts_existing_keys() -> None:
    existing = frozenset(f"k{i}" for i in range(50))
    with pytest.raises(LimitExceededError):
        validate_tags([("new", "")], existing_keys=existing)


def test_validate_tags_does_not_count_existing_key_twice() -> None:
    existing = frozenset(f"k{i}" for i in range(50))
    assert validate_tags([("k1", "changed")], existing_keys=existing) == [
        validators.TagPair("k1", "changed")
    ]


def test_validate_tags_does_not_count_existing_aws_keys() -> None:
    existing = frozenset({*(f"k{i}" for i in range(49)), "aws:cloudformation:stack-name"})
    assert len(validate_tags([("new", "")], existing_keys=existing)) == 1


# --- validate_selector -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a", "a"), ("A1", "A1"), ("a-b", "a-b"), ("s" * 63, "s" * 63), (" sel2024 ", "sel2024")],
)
def test_validate_selector_accepts(raw: str, expected: str) -> None:
    assert validate_selector(raw) == expected


@pytest.mark.parametrize("raw", ["s" * 64, "-a", "a-", "a.b", "a_b", "a b", "sel!"])
def test_validate_selector_rejects(raw: str) -> None:
    error = error_of(validate_selector, raw)
    assert error.messages == [
        f"“{raw}” is not a valid selector. Use 1–63 letters, digits and hyphens, not starting "
        "or ending with a hyphen, with no dots or other symbols."
    ]


def test_validate_selector_requires_a_value() -> None:
    error = error_of(validate_selector, "  ")
    assert error.messages == ["Enter the selector name you published the public key under."]


# --- parse_byodkim_private_key ---------------------------------------------------------------
@pytest.mark.parametrize("bits", [1024, 2048])
@pytest.mark.parametrize("pkcs1", [True, False])
def test_parse_byodkim_private_key_accepts_rsa(bits: int, pkcs1: bool) -> None:
    key = keys.rsa_key(bits)
    raw = keys.der_base64(key, pkcs1=pkcs1)
    parsed = parse_byodkim_private_key(raw)
    assert parsed == validators.ParsedPrivateKey(
        base64_der=raw, key_size=bits, public_key_base64=keys.spki_base64(key), cleaned=False
    )


@pytest.mark.parametrize("pkcs1", [True, False])
def test_parse_byodkim_private_key_strips_pem_armour(pkcs1: bool) -> None:
    key = keys.rsa_key(2048)
    parsed = parse_byodkim_private_key(keys.pem(key, pkcs1=pkcs1))
    assert parsed.cleaned is True
    assert parsed.base64_der == keys.der_base64(key, pkcs1=pkcs1)
    assert parsed.public_key_base64 == keys.spki_base64(key)


def test_parse_byodkim_private_key_strips_line_breaks() -> None:
    raw = keys.der_base64(keys.rsa_key(1024))
    wrapped = "\n".join(raw[i : i + 64] for i in range(0, len(raw), 64)) + "\r\n"
    parsed = parse_byodkim_private_key(wrapped)
    assert (parsed.base64_der, parsed.cleaned) == (raw, True)


@pytest.mark.parametrize("bits", [512, 3072])
def test_parse_byodkim_private_key_rejects_size(bits: int) -> None:
    error = error_of(parse_byodkim_private_key, keys.der_base64(keys.rsa_key(bits)))
    assert error.messages == [
        f"The private key is {bits} bits; SES accepts RSA keys from 1024 to 2048 bits."
    ]


def test_parse_byodkim_private_key_rejects_ec_key() -> None:
    error = error_of(parse_byodkim_private_key, keys.der_base64(keys.ec_key()))
    assert error.messages == ["The private key must be an RSA key; DKIM with SES uses RSA."]


@pytest.mark.parametrize(
    "raw", ["", "  \n", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"]
)
def test_parse_byodkim_private_key_requires_a_value(raw: str) -> None:
    error = error_of(parse_byodkim_private_key, raw)
    assert error.code == "required"
    assert error.messages == ["Paste the private key, base64-encoded."]


@pytest.mark.parametrize("raw", ["not base64!", "abc=def", "abc==="])
def test_parse_byodkim_private_key_rejects_non_base64(raw: str) -> None:
    error = error_of(parse_byodkim_private_key, raw)
    assert error.messages == [
        "The private key must be base64 (letters, digits, + and /, ending in at most two =). "
        "Paste the text between the BEGIN and END lines of the PEM file."
    ]


@pytest.mark.parametrize("raw", ["aGVsbG8gd29ybGQ=", "abc", "AAAA"])
def test_parse_byodkim_private_key_rejects_garbage(raw: str) -> None:
    error = error_of(parse_byodkim_private_key, raw)
    assert error.messages == [
        "The private key could not be read. Paste an unencrypted RSA key in PKCS#1 or PKCS#8 "
        "format, for example the output of openssl genrsa -f4 2048."
    ]


def test_parse_byodkim_private_key_rejects_over_long_input() -> None:
    error = error_of(parse_byodkim_private_key, "A" * 20481)
    assert error.messages == [
        "The private key is 20481 characters long; SES accepts at most 20480. Use a 1024- to "
        "2048-bit RSA key."
    ]


# --- validate_configuration_set_name ---------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"), [("ok_name-1", "ok_name-1"), ("a" * 64, "a" * 64), (" x ", "x")]
)
def test_validate_configuration_set_name_accepts(raw: str, expected: str) -> None:
    assert validate_configuration_set_name(raw) == expected


def test_validate_configuration_set_name_asks_for_a_missing_name() -> None:
    error = error_of(validate_configuration_set_name, "  ")
    assert (error.code, error.messages) == (
        "required",
        ["Enter a configuration set name: 1–64 letters, digits, underscores and hyphens."],
    )


@pytest.mark.parametrize("raw", ["a" * 65, "a b", "a.b", "sét"])
def test_validate_configuration_set_name_rejects(raw: str) -> None:
    error = error_of(validate_configuration_set_name, raw)
    assert error.messages == [
        f"“{raw}” is not a valid configuration set name. Use 1–64 letters, digits, underscores "
        "and hyphens."
    ]


# --- domain_lookup_name ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Example.COM.", "example.com"),
        ("  mail.Example.com ", "mail.example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),  # refused on creation, so never found: no error either
        ("bad..name", "bad..name"),  # not IDNA-encodable: as given
        ("-edge.example.com", "-edge.example.com"),
    ],
)
def test_domain_lookup_name_is_the_stored_form(typed: str, stored: str) -> None:
    assert validators.domain_lookup_name(typed) == stored


# --- the local part of an address ------------------------------------------------------------
def test_normalize_email_accepts_a_64_character_local_part() -> None:
    address = "a" * 64 + "@example.com"
    assert normalize_email(address) == address


@pytest.mark.parametrize(("local", "size"), [("a" * 65, 65), ("é" * 33, 66)])
def test_normalize_email_refuses_a_longer_local_part(local: str, size: int) -> None:
    error = error_of(normalize_email, local + "@example.com")
    assert (error.code, error.messages) == (
        "invalid",
        [f"The part before the @ is {size} characters long; it can have at most 64. Shorten it."],
    )
