"""A malformed MAIL FROM or RCPT TO address is refused at once with SES's 553, naming it
(ses-sending.md §12.4), in one ASCII line of at most 512 octets."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest

from smtp.replies import MAX_SHOWN_ADDRESS, invalid_address
from smtp.server import written_address
from tests.smtp.conftest import SmtpCredentials

Connect = Callable[..., smtplib.SMTP]


@pytest.fixture
def client(connect: Connect, credentials: SmtpCredentials) -> smtplib.SMTP:
    client = connect()
    client.login(credentials.username, credentials.password)
    return client


@pytest.mark.parametrize(
    ("argument", "reply"),
    [
        # aiosmtpd cannot parse these
        ("<a@b@c>", b"a@b@c Invalid email address"),
        ("<@example.com> SIZE=100", b"@example.com Invalid email address"),
        # aiosmtpd parses these; the send operation would refuse them after DATA
        ("<nodomain>", b"nodomain Invalid email address"),
        ("<a..b@example.com>", b"a..b@example.com Invalid email address"),
        ("<a\x01b@example.com>", b"a\\x01b@example.com Invalid email address"),
    ],
    ids=["two-at-signs", "no-local-part", "no-domain", "double-dot", "control-character"],
)
def test_a_malformed_mail_from_is_named_in_the_553(
    client: smtplib.SMTP, argument: str, reply: bytes
) -> None:
    assert client.docmd("MAIL", "FROM:" + argument) == (553, reply)
    # Nothing was collected: a good MAIL FROM is taken next.
    assert client.docmd("MAIL", "FROM:<sender@example.com>") == (250, b"Ok")


@pytest.mark.parametrize(
    ("argument", "reply"),
    [
        ("<x@y@z>", b"x@y@z Invalid email address"),
        ("<recipient>", b"recipient Invalid email address"),
        ("<a@-example.com>", b"a@-example.com Invalid email address"),
    ],
    ids=["two-at-signs", "no-domain", "bad-domain"],
)
def test_a_malformed_rcpt_to_is_named_and_the_others_still_taken(
    client: smtplib.SMTP, argument: str, reply: bytes
) -> None:
    assert client.docmd("MAIL", "FROM:<sender@example.com>") == (250, b"Ok")
    assert client.docmd("RCPT", "TO:" + argument) == (553, reply)
    assert client.docmd("RCPT", "TO:<recipient@example.com>") == (250, b"Ok")


def test_a_long_address_is_cut_so_the_reply_fits_one_line(client: smtplib.SMTP) -> None:
    address = "x" * 400 + "@@example.com"
    code, text = client.docmd("MAIL", f"FROM:<{address}>")
    shown = "x" * (MAX_SHOWN_ADDRESS - 3) + "..."
    assert (code, text) == (553, f"{shown} Invalid email address".encode())


@pytest.mark.parametrize(
    ("address", "reply"),
    [
        ("j\u00f6hn@example.com", "553 j\\xf6hn@example.com Invalid email address"),
        ("tab\there@x", "553 tab\\there@x Invalid email address"),
        ("nul\x00@x", "553 nul\\x00@x Invalid email address"),
    ],
)
def test_invalid_address_reply_is_ascii(address: str, reply: str) -> None:
    assert invalid_address(address) == reply


@pytest.mark.parametrize(
    ("argument", "address"),
    [
        ("<a@b@c>", "a@b@c"),
        ("  <a@b@c> SIZE=10 BODY=8BITMIME", "a@b@c"),
        ("<unclosed@x", "unclosed@x"),
        ("bare@@x SIZE=10", "bare@@x"),
        ("", ""),
    ],
)
def test_written_address_is_the_address_part_of_the_argument(argument: str, address: str) -> None:
    assert written_address(argument) == address
