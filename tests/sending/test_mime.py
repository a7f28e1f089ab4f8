"""sending.mime's header reading: the values the send rules see are the `email` package's
default policy's, whether read directly (`plain_value`) or through the policy's parser; and
header content PostgreSQL can't store (NUL) is refused before the database sees it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sending import mime
from sending.errors import RefusalKind, SendRefused

NAMES = ["From", "To", "Cc", "Sender", "Subject", "Return-Path", "X-SES-CONFIGURATION-SET"]
# Pieces that make plain values and every kind the direct reading must leave to the parser.
PIECES = [
    "a", "Bo", "x.y", "jo@example.com", "Jo Smith <jo@example.com>", "@", "<", ">", ",", ", ",
    " ", "  ", "\t", '"', "(", ")", "=?", "?=", "=?utf-8?q?J=C3=B6?=", ":", ";", ".", "\\",
    "[", "]", "é", "\x01", "\x7f", "\r\n ", "\r\n\t", "-", "_", "'", "+", "=", "?",
]  # fmt: skip


def field_of(name: str, value: str) -> tuple[mime.RawParts, bytes] | None:
    try:
        parts = mime.split_raw(f"{name}: {value}\r\n\r\nbody\r\n".encode())
    except SendRefused:
        return None
    [(_name, line)] = parts.fields
    return parts, line


@given(st.sampled_from(NAMES), st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@example("From", "Bench <app@bench.example>")
@example("To", "a@example.com, B C <b@example.com>")
@example("Subject", "  Hello   world  ")
def test_a_value_read_directly_is_the_default_policys(name: str, value: str) -> None:
    found = field_of(name, value)
    if found is None:
        return  # not a header field split_raw accepts
    parts, line = found
    direct = mime.plain_value(name, line)
    if direct is not None:
        assert direct == str(parts.parsed[name])


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("From", "Bench <app@bench.example>", "Bench <app@bench.example>"),
        ("From", "  app@bench.example  ", "app@bench.example"),
        ("To", "a@example.com, B C <b@example.com>", "a@example.com, B C <b@example.com>"),
        ("Subject", "Bench message 7", "Bench message 7"),
        ("Subject", "folded\r\n line", "folded line"),
        ("X-SES-CONFIGURATION-SET", "set-1", "set-1"),
    ],
)
def test_the_usual_values_are_read_without_the_parser(name: str, value: str, expected: str) -> None:
    found = field_of(name, value)
    assert found is not None
    assert mime.plain_value(name, found[1]) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("From", '"Bench" <app@bench.example>'),  # the policy writes it back unquoted
        ("From", "Jo. Smith <jo@example.com>"),  # the policy quotes the name
        ("To", "a@example.com,b@example.com"),  # the policy adds a space
        ("Subject", "=?utf-8?q?caf=C3=A9?="),  # an encoded-word
        ("Date", "Mon, 7 Dec 2026 17:00:00 +0000"),  # not a header read directly
    ],
)
def test_other_values_go_through_the_parser(name: str, value: str) -> None:
    found = field_of(name, value)
    assert found is not None
    parts, line = found
    assert mime.plain_value(name, line) is None
    assert parts.first(name) == str(parts.parsed[name])


def test_a_nul_byte_in_the_headers_is_refused_with_its_line() -> None:
    with pytest.raises(SendRefused) as refused:
        mime.split_raw(b"From: app@example.com\r\nSubject: a\x00b\r\n\r\nbody\x00 is fine\r\n")

    assert (refused.value.kind, refused.value.message) == (
        RefusalKind.INVALID_PARAMETER,
        "Line 2 of the raw message's header section contains a NUL byte. Remove it: header "
        "fields must be text.",
    )


def test_a_nul_in_an_encoded_word_is_refused() -> None:
    parts = mime.split_raw(b"From: app@example.com\r\nSubject: =?utf-8?q?a=00b?=\r\n\r\nbody\r\n")

    with pytest.raises(SendRefused) as refused:
        parts.first("Subject")

    assert (refused.value.kind, refused.value.message) == (
        RefusalKind.INVALID_PARAMETER,
        "The raw message's Subject header contains a NUL character. Remove it: header values "
        "must be text.",
    )
