"""sending.mime.build_simple: the usual Simple content is written directly, and what it writes
is what the `email` package writes for the same content (the package still builds the rest):
the same bytes but for the multipart boundary, so mail readers and dkimpy read the same
message."""

from __future__ import annotations

import random
import re
from email import message_from_bytes, policy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sending import mime
from sending.errors import SendRefused

# Pieces that make plain values and every kind of value the direct writing must leave to the
# `email` package: encoded-words, non-ASCII, quotes, dots and commas in names, runs of blanks.
PIECES = [
    "a", "Bo", "x.y", "Jo Smith", "@", "<", ">", ",", " ", "  ", '"', "(", ")", "=?", "?=",
    "=?utf-8?q?J=C3=B6?=", ":", ";", ".", "\\", "é", "\x7f", "-", "'", "=", "?", "x" * 40,
]  # fmt: skip
ADDRESSES = [
    "app@bench.example", "Jo Smith <jo@example.com>", "Jo <jo@example.com>", "a+b@x.y",
    '"Smith, Jo" <jo@example.com>', "J. Smith <jo@example.com>", "Jö <jo@example.com>",
    "=?utf-8?q?J=C3=B6?= <jo@example.com>", "jo@[127.0.0.1]", "x" * 60 + "@example.com",
]  # fmt: skip
HEADER_NAMES = [
    "X-Custom", "X-Ses-Tags", "Comments", "Keywords", "Sender", "In-Reply-To", "References",
    "Content-Language", "Resent-Date", "Precedence", "List-Unsubscribe", "Thread-Topic",
]  # fmt: skip
LINES = [
    "", "Hello", "Hello from the benchmark.", "<p>Hi</p>", "a b  c", "x" * 77, "x" * 78,
    "x" * 79, "x" * 200, "é", "--", "\t", "\x0b",
]  # fmt: skip
# The line breaks the body may hold: each makes a line break in the message.
BREAKS = ["\n", "\r\n", "\r"]

# Half plain words (the direct writing's case), half pieces.
values = st.from_regex(r"[!-~]{1,12}(?: [!-~]{1,12}){0,5}", fullmatch=True) | st.lists(
    st.sampled_from(PIECES), max_size=8
).map("".join)
bodies = st.builds(
    lambda lines, breaks: "".join(line + brk for line, brk in zip(lines, breaks, strict=False)),
    st.lists(st.sampled_from(LINES), max_size=6),
    st.lists(st.sampled_from(BREAKS), min_size=6, max_size=6),
) | st.sampled_from(LINES)
charsets = st.sampled_from([None, "utf-8", "UTF-8", "us-ascii", "iso-8859-1"])
simples = st.builds(
    mime.Simple,
    subject=values,
    text=st.none() | bodies,
    html=st.none() | bodies,
    text_charset=charsets,
    html_charset=charsets,
    subject_charset=st.sampled_from([None, "UTF-8"]),
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), values), max_size=2),
)
address_lists = st.lists(st.sampled_from(ADDRESSES), max_size=3)
BOUNDARY = re.compile(rb"={15}\d{19}==(?:\.\d+)?")


def by_the_package(simple: mime.Simple, from_header: str, to: list[str], cc: list[str],
                   reply_to: list[str]) -> bytes:  # fmt: skip
    headers = [("From", from_header), ("To", ", ".join(to)), ("Cc", ", ".join(cc)),
               ("Reply-To", ", ".join(reply_to))]  # fmt: skip
    return mime._email_package_message(simple, headers).as_bytes()


def same_boundary(data: bytes, like: bytes) -> bytes:
    """`data` with the multipart boundary of `like` (each message draws its own)."""
    found = BOUNDARY.search(like)
    return BOUNDARY.sub(found.group(), data) if found else data


def read_back(data: bytes) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """What a mail reader sees: the top-level headers, and each body part's type and text."""
    message = message_from_bytes(data, policy=policy.default)
    headers = {name: str(value) for name, value in message.items()}
    parts = [
        (part.get_content_type(), part.get_content())  # type: ignore[attr-defined]
        for part in message.walk()
        if not part.is_multipart()
    ]
    return headers, parts


@settings(max_examples=400)
@given(simples, st.sampled_from(ADDRESSES), address_lists, address_lists, address_lists)
@example(mime.Simple(subject="Bench 7", text="Hello from the benchmark.\n" * 20),
         "sender@bench.example", ["r7@sink.example"], [], [])  # fmt: skip
@example(mime.Simple(subject="S" * 69, text="x"), "a@b.c", [], [], [])  # a 78-character line
@example(mime.Simple(subject="S" * 70, text="x"), "a@b.c", [], [], [])  # 79: folded
def test_the_direct_message_is_the_packages(
    simple: mime.Simple, from_header: str, to: list[str], cc: list[str], reply_to: list[str]
) -> None:
    try:
        mime.check_simple(simple)
    except SendRefused:
        return  # refused before anything is built
    try:
        expected = by_the_package(simple, from_header, to, cc, reply_to)
    except Exception as error:  # a content the package refuses: refused as before
        with pytest.raises(type(error)):
            mime.build_simple(simple, from_header=from_header, to=to, cc=cc, reply_to=reply_to)
        return
    built = mime.build_simple(simple, from_header=from_header, to=to, cc=cc, reply_to=reply_to)
    data = built.as_bytes()
    assert data == same_boundary(expected, data)
    if mime._plain_simple_bytes(simple, [("From", from_header)]) is None:
        return
    # Written directly: a reader reads back the values given.
    headers, parts = read_back(data)
    assert headers["From"] == from_header
    assert headers["Subject"] == simple.subject
    bodies = [("text/plain", simple.text), ("text/html", simple.html)]
    assert [(kind, text.replace("\r\n", "\n")) for kind, text in parts] == [
        (kind, _as_read(body)) for kind, body in bodies if body is not None
    ]


def _as_read(body: str) -> str:
    """A body as a reader reads it back: every line break a LF, the last line ended (an empty
    body is one empty line)."""
    lines = re.split(r"\r\n|\r|\n", body)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return "".join(line + "\n" for line in lines)


def test_a_usual_text_message_is_written_directly() -> None:
    simple = mime.Simple(subject="Bench 7", text="Hello.\nSecond line.\n")
    built = mime.build_simple(
        simple, from_header="Bench <sender@bench.example>", to=["r7@sink.example"], cc=[],
        reply_to=["replies@bench.example"],
    )  # fmt: skip
    assert mime._plain_simple_bytes(simple, [("From", "Bench <sender@bench.example>")])
    assert built.as_bytes() == (
        b"From: Bench <sender@bench.example>\r\n"
        b"To: r7@sink.example\r\n"
        b"Reply-To: replies@bench.example\r\n"
        b"Subject: Bench 7\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"\r\n"
        b"Hello.\r\n"
        b"Second line.\r\n"
    )


def test_a_usual_text_and_html_message_is_written_directly() -> None:
    simple = mime.Simple(
        subject="Your order", text="Thanks!", html="<p>Thanks!</p>\n", html_charset="UTF-8",
        headers=[("X-Campaign", "winter 2026")],
    )  # fmt: skip
    data = mime.build_simple(
        simple, from_header="shop@bench.example", to=["a@x.example", "b@y.example"],
        cc=["c@z.example"], reply_to=[],
    ).as_bytes()  # fmt: skip
    boundary = BOUNDARY.search(data)
    assert boundary is not None
    assert data.replace(boundary.group(), b"B") == (
        b"From: shop@bench.example\r\n"
        b"To: a@x.example, b@y.example\r\n"
        b"Cc: c@z.example\r\n"
        b"Subject: Your order\r\n"
        b"MIME-Version: 1.0\r\n"
        b"X-Campaign: winter 2026\r\n"
        b'Content-Type: multipart/alternative;\r\n boundary="B"\r\n'
        b"\r\n"
        b"--B\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"\r\n"
        b"Thanks!\r\n"
        b"\r\n"
        b"--B\r\n"
        b'Content-Type: text/html; charset="UTF-8"\r\n'
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"MIME-Version: 1.0\r\n"
        b"\r\n"
        b"<p>Thanks!</p>\r\n"
        b"\r\n"
        b"--B--\r\n"
    )


def test_a_utf8_text_on_short_lines_is_written_directly_as_8bit() -> None:
    simple = mime.Simple(subject="Bench 7", text="Grüße aus Köln.\n")
    data = mime.build_simple(simple, from_header="a@b.example", to=[], cc=[], reply_to=[])

    assert mime._plain_simple_bytes(simple, [("From", "a@b.example")]) == data.as_bytes()
    assert data.as_bytes() == (
        b"From: a@b.example\r\n"
        b"Subject: Bench 7\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" + "Grüße aus Köln.\r\n".encode()
    )


def test_values_the_package_must_encode_or_fold_are_left_to_it() -> None:
    for simple in (
        mime.Simple(subject="Grüße", subject_charset="UTF-8", text="x"),
        mime.Simple(subject="s", text="Grüße aus Köln " * 5),  # 8bit: quoted-printable
        mime.Simple(subject="s", text="x" * 79),
        mime.Simple(subject="s", html="<p>" + "x" * 100 + "</p>"),
        mime.Simple(subject="s", text="x", attachments=[mime.Attachment(b"a", "a.txt")]),
        mime.Simple(subject="s", text="x", headers=[("Comments", "=?utf-8?q?J=C3=B6?=")]),
    ):
        assert mime._plain_simple_bytes(simple, [("From", "a@b.c")]) is None
    assert (
        mime._plain_simple_bytes(mime.Simple(subject="s", text="x"), [("From", '"A, B" <a@b.c>')])
        is None
    )


def test_a_boundary_found_in_the_content_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "_BOUNDARY_RANDOM", random.Random(7))
    first = mime._boundary(b"")
    monkeypatch.setattr(mime, "_BOUNDARY_RANDOM", random.Random(7))
    content = f"text\r\n--{first}\r\n".encode()

    boundary = mime._boundary(content)

    assert BOUNDARY.fullmatch(boundary.encode())
    assert boundary != first
    assert boundary.encode() not in content
