"""SMTP replies are one ASCII line of at most 512 octets, whatever a refusal message holds."""

from __future__ import annotations

from sending.errors import RefusalKind, SendRefused
from smtp.submission import MAX_REPLY, REFUSAL_REPLIES, refusal_reply, reply_line


def test_every_refusal_kind_has_an_smtp_reply() -> None:
    assert set(REFUSAL_REPLIES) == set(RefusalKind)


def test_reply_line_escapes_non_ascii_and_joins_lines() -> None:
    assert reply_line("554 Message rejected: Jöhn <j@x.test>,\r\n j@x.test") == (
        "554 Message rejected: J\\xf6hn <j@x.test>, j@x.test"
    )


def test_long_identity_lists_end_with_an_ellipsis() -> None:
    failed = ", ".join(f"user{n}@unverified.test" for n in range(100))
    reply = refusal_reply(SendRefused(RefusalKind.MESSAGE_REJECTED, f"... US-EAST-1: {failed}"))
    assert (len(reply), reply[:25], reply[-3:]) == (MAX_REPLY, "554 Message rejected: ...", "...")
