"""Property tests: the parsers never crash with anything but ValidationError."""

from __future__ import annotations

import re

import idna
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesconsole import validators
from sesconsole.validators import (
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    TagPair,
    normalize_domain,
    normalize_email,
    validate_tag,
)

LDH_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+\Z")
SETTINGS = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

label = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?\Z")
domain_like = st.lists(label, min_size=2, max_size=5).map(".".join)
# Text that looks like a domain often enough to reach the deep branches.
domain_text = st.one_of(
    st.text(),
    domain_like,
    st.lists(st.text(alphabet="aZ9-_.é中@/ ", max_size=12), min_size=1, max_size=6).map(".".join),
)
tag_char = st.characters(
    categories=["L", "Nd", "Zs"], include_characters="_.:/=+-", exclude_characters="\x00"
)
tag_key = st.text(tag_char, min_size=1, max_size=MAX_TAG_KEY_LENGTH).filter(
    lambda key: not key.lower().startswith("aws:")
)
tag_value = st.text(tag_char, max_size=MAX_TAG_VALUE_LENGTH)


def check_domain_shape(name: str) -> None:
    assert name == name.lower()
    assert name.isascii()
    assert LDH_NAME.match(name)
    assert len(name) <= 255
    assert all(1 <= len(part) <= 63 for part in name.split("."))
    assert not any(part.startswith("-") or part.endswith("-") for part in name.split("."))


def stored_form(text: str) -> str | None:
    """What `normalize_domain` stores for `text`, or None when it refuses it."""
    try:
        return normalize_domain(text)
    except ValidationError:
        return None


@SETTINGS
@given(domain_text)
def test_normalize_domain_returns_ldh_or_raises_validation_error(text: str) -> None:
    name = stored_form(text)
    if name is None:
        return
    check_domain_shape(name)
    assert normalize_domain(name) == name


@SETTINGS
@given(
    st.one_of(
        domain_like,
        st.lists(st.text(alphabet="aZ09-xn", max_size=8), min_size=1, max_size=5).map(".".join),
        st.lists(label, min_size=40, max_size=70).map(".".join),  # around 253 characters
    )
)
def test_normalize_domain_agrees_with_idna_on_ascii_names(text: str) -> None:
    """The plain-LDH shortcut answers exactly what the idna path answers."""
    try:
        expected: str | None = idna.encode(text.rstrip("."), uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        expected = None
    normalized = stored_form(text)
    if normalized is not None:
        assert normalized == expected
    elif expected is not None:  # idna accepts it; only our own shape rules may refuse it
        with pytest.raises(ValidationError):
            validators._check_domain_shape(expected)


@SETTINGS
@given(domain_text)
def test_domain_lookup_name_finds_what_normalize_domain_stores(text: str) -> None:
    stored = stored_form(text)
    if stored is None:
        return
    assert validators.domain_lookup_name(text) == stored
    if text.isascii():  # str.upper() rewrites some letters (ß -> SS) that IDNA keeps
        assert validators.domain_lookup_name(text.upper()) == stored


@SETTINGS
@given(domain_like)
def test_normalize_domain_is_idempotent_and_case_insensitive(text: str) -> None:
    name = stored_form(text)
    if name is None:
        return
    assert normalize_domain(name) == name
    assert normalize_domain(text.upper()) == name
    assert normalize_domain(name + ".") == name


@SETTINGS
@given(
    st.one_of(
        st.text(), st.builds(lambda local, domain: f"{local}@{domain}", st.text(), domain_like)
    )
)
def test_normalize_email_returns_input_stripped_or_raises_validation_error(text: str) -> None:
    try:
        address = normalize_email(text)
    except ValidationError:
        return
    assert address == text.strip()


@SETTINGS
@given(tag_key, tag_value)
def test_validate_tag_accepts_valid_key_and_value(key: str, value: str) -> None:
    assert validate_tag(key, value) == TagPair(key, value)


@SETTINGS
@given(
    st.text(tag_char, min_size=MAX_TAG_KEY_LENGTH + 1, max_size=MAX_TAG_KEY_LENGTH + 40),
    tag_value,
)
def test_validate_tag_rejects_over_long_key(key: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_tag(key, value)
    assert info.value.messages == [
        f"The tag key “{key[:30]}…” is {len(key)} characters long; keys can have at most "
        f"{MAX_TAG_KEY_LENGTH}."
    ]


@SETTINGS
@given(
    tag_key,
    st.text(tag_char, min_size=MAX_TAG_VALUE_LENGTH + 1, max_size=MAX_TAG_VALUE_LENGTH + 40),
)
def test_validate_tag_rejects_over_long_value(key: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_tag(key, value)
    assert info.value.messages == [
        f"The value of tag “{key}” is {len(value)} characters long; values can have at "
        f"most {MAX_TAG_VALUE_LENGTH}."
    ]


@SETTINGS
@given(st.text(), st.text())
def test_validate_tag_raises_only_validation_error(key: str, value: str) -> None:
    try:
        pair = validate_tag(key, value)
    except ValidationError:
        return
    assert pair == TagPair(key, value)
