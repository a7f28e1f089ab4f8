"""Pins the database round trips of a typical send, so the send path does not slowly regress
(BENCHMARKS.md, "Send path"). A change that needs another query updates the number here and
the table there, on purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Region
from identities.models import Identity
from sending.models import SendingUsage, SentMessage
from sending.operations import send
from tests.support import wire

# Inside the test's transaction `transaction.atomic()` is a SAVEPOINT and its RELEASE; in a
# request they are BEGIN and COMMIT, the same two round trips. The rest: the account region
# settings with the identities (senders and sandbox recipients); the row lock with the 24-hour
# sum; the rate bucket, the minute's counter and the message's INSERT. Before issue 15's send
# path work: 9 in production, 10 in the sandbox.
TYPICAL_SEND_QUERIES = 5
# SQLite (development only) runs `sql.run_together`'s statements one execute each.
SQLITE_EXECUTES = TYPICAL_SEND_QUERIES + 4


RAW = (
    b"From: Sender <sender@example.com>\r\nTo: {to}\r\nSubject: Hello\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHi there.\r\n"
)


@pytest.mark.django_db
@pytest.mark.parametrize("content", ["simple", "raw"])
@pytest.mark.parametrize("access", ["sandbox", "production"])
def test_typical_send_query_count(
    verified_domain: Callable[..., Identity],
    outgoing: Callable[..., Any],
    account: Account,
    region: Region,
    content: str,
    access: str,
) -> None:
    domain = verified_domain("example.com")
    to = "someone@example.com"  # a verified recipient: the sandbox lets it through
    state = account.region_settings(region)  # exists once the account has used the region
    if access == "production":
        state.grant_production_access()
        to = "someone@elsewhere.test"
    given: dict[str, Any] = {"region": region, "to": [to]}
    if content == "raw":
        given |= {"simple": None, "from_address": None, "raw": RAW.replace(b"{to}", to.encode())}
    with CaptureQueriesContext(connection) as queries:
        message = send(outgoing(**given))
    expected = TYPICAL_SEND_QUERIES if connection.vendor == "postgresql" else SQLITE_EXECUTES
    assert len(queries.captured_queries) == expected, [
        q["sql"][:60] for q in queries.captured_queries
    ]
    stored = SentMessage.objects.get(pk=message.pk)
    assert (stored.identity_id, stored.recipients, stored.quota_recipients) == (
        domain.pk,
        [to],
        1,
    )
    assert SendingUsage.objects.get(account=account, region=region).recipients == 1
    state = account.region_settings(region)
    capacity = state.send_quota().max_send_rate
    assert state.rate_tokens == pytest.approx(capacity - 1)


@pytest.mark.django_db
def test_an_account_without_limits_takes_no_quota_lock(
    verified_domain: Callable[..., Identity],
    outgoing: Callable[..., Any],
    account: Account,
    region: Region,
) -> None:
    """Nothing to spend or check: no row lock and no 24-hour sum (one round trip fewer); the
    recipients are still counted for SentLast24Hours."""
    verified_domain("example.com")
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_send_rate, state.max_24_hour_send = -1, -1
    state.save(update_fields=["max_send_rate", "max_24_hour_send"])
    given = {"region": region, "to": ["someone@elsewhere.test"]}
    with CaptureQueriesContext(connection) as queries:
        send(outgoing(**given))
    # PostgreSQL: no lock and sum, and the counter with the INSERT is one statement
    # (`sql.run_in_one_statement`), so no SAVEPOINT and RELEASE around them either. SQLite: no
    # lock, no sum and no rate bucket update, each its own execute there.
    expected = (
        TYPICAL_SEND_QUERIES - 3 if connection.vendor == "postgresql" else SQLITE_EXECUTES - 3
    )
    assert len(queries.captured_queries) == expected, [
        q["sql"][:60] for q in queries.captured_queries
    ]
    assert not any("FOR NO KEY UPDATE" in q["sql"] for q in queries.captured_queries)
    assert SendingUsage.objects.get(account=account, region=region).recipients == 1


# What a send costs on the wire outside a test's transaction (a request, an SMTP session):
# psycopg's BEGIN and COMMIT are round trips that Django's query capture does not see.
WIRE_QUERIES_WITH_LIMITS = 3  # settings and identities; BEGIN, lock and sum; writes, COMMIT
WIRE_QUERIES_WITHOUT_LIMITS = 2  # settings and identities; the writes, one prepared statement


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("limits", "expected"),
    [("set", WIRE_QUERIES_WITH_LIMITS), ("none", WIRE_QUERIES_WITHOUT_LIMITS)],
)
def test_a_send_outside_a_transaction_commits_in_these_round_trips(
    verified_domain: Callable[..., Identity],
    outgoing: Callable[..., Any],
    account: Account,
    region: Region,
    limits: str,
    expected: int,
) -> None:
    verified_domain("example.com")
    state = account.region_settings(region)
    state.grant_production_access()
    if limits == "none":
        state.max_send_rate, state.max_24_hour_send = -1, -1
        state.save(update_fields=["max_send_rate", "max_24_hour_send"])

    with wire.traced() as sent:
        message = send(outgoing(region=region, to=["someone@elsewhere.test"]))

    # Round trips, not simple-protocol queries: the writes without limits are one prepared
    # statement (extended protocol).
    assert sent.round_trips == expected, sent.lines
    assert sent.transaction_states[-1] == "I"  # committed before send() returned
    assert SentMessage.objects.get(pk=message.pk).recipients == ["someone@elsewhere.test"]
