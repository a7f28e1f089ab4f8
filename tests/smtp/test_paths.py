"""smtp.server.plain_path: a MAIL FROM or RCPT TO argument it reads gives exactly what
aiosmtpd's own parser gives (the address and the text after it), and the shapes clients
send are read without that parser."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import example, given
from hypothesis import strategies as st

from smtp.server import plain_path

# Pieces of plain paths, and of every shape the direct reading must leave to the parser.
ATOMS = ["a", "Jo", "x-y", "b1", "+tag", ".", "!#$%&'*/=?^_`{|}~"]
ODD = [
    "<", ">", "@", "..", '"', '"a b"', "(", ")", "(comment)", "[", "]", "[127.0.0.1]", ",",
    ":", ";", "\\", " ", "  ", "\t", "\r\n", "\x0b", "\x1c", "\u2003", "é", "\x01", "=",
]  # fmt: skip
PARAMETERS = [" SIZE=100", " BODY=8BITMIME", "X", *ODD]
part = st.lists(st.sampled_from(ATOMS) | st.sampled_from(ODD), min_size=1, max_size=5).map("".join)
paths = st.builds(
    "<{}@{}>{}".format, part, part, st.lists(st.sampled_from(PARAMETERS), max_size=4).map("".join)
)


def parsed_by_aiosmtpd(argument: str) -> tuple[str | None, str | None]:
    return SMTP._getaddr(SimpleNamespace(local_part_limit=0), argument)  # type: ignore[arg-type]


@given(paths | st.lists(st.sampled_from([*ATOMS, *ODD, "@"]), max_size=14).map("".join))
@example("<user1@customer.example>")
@example("<a.b@example.com> SIZE=100")
@example("<a.b@example.com> \t SIZE=100 BODY=7BIT ")
@example("<a.b@example.com> (comment) SIZE=100")
@example("<a.b@example.com>SIZE=100")
@example("<a.b@example.com>   ")
@example("<a.b@example.com>  \r\n")
@example("<a..b@example.com>")
@example("<.a@example.com>")
@example("<a@example.com.>")
@example('<"a b"@example.com>')
def test_a_path_read_directly_is_what_aiosmtpd_parses(argument: str) -> None:
    plain = plain_path(argument)
    if plain is not None:
        local, domain, rest = plain
        assert (f"{local}@{domain}", rest) == parsed_by_aiosmtpd(argument)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("<user1@customer.example>", ("user1", "customer.example", "")),
        ("<app@bench.example> SIZE=629", ("app", "bench.example", "SIZE=629")),
        ("<jo.smith+news@mail.example.org>  BODY=8BITMIME", ("jo.smith+news", "mail.example.org", "BODY=8BITMIME")),
        ("<o'brien@example.ie>", ("o'brien", "example.ie", "")),
    ],
)  # fmt: skip
def test_the_usual_paths_are_read_without_the_parser(
    argument: str, expected: tuple[str, str, str]
) -> None:
    assert plain_path(argument) == expected


@pytest.mark.parametrize(
    "argument",
    ['<"a b"@example.com>', "<a@[127.0.0.1]>", " <a@example.com>", "a@example.com", "<a..b@c>",
     "<(c)a@example.com>", "<jö@example.com>", "<>"],
)  # fmt: skip
def test_other_paths_go_to_the_parser(argument: str) -> None:
    assert plain_path(argument) is None
