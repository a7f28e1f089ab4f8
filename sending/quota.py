"""Sending quotas at send time: the rate (a token bucket) and the rolling 24-hour count.

SES counts recipients, not messages, against both (DG quotas; django-ses#59). A send goes
through while any rate is left, even with more recipients than that, and later sends wait
until the bucket refills. Mailbox simulator recipients count against the rate only. `-1`
means unlimited, as SES reports it. Both are checked and taken under the account region's row
lock (`take`), so concurrent sends from many web processes cannot overspend.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection

from accounts.models import Account, AccountRegion, Region
from sesconsole import sql

from .errors import RefusalKind, SendRefused
from .models import SendingUsage

DAY = timedelta(hours=24)
RATE_EXCEEDED = "Maximum sending rate exceeded."
DAILY_QUOTA_EXCEEDED = "Daily message quota exceeded."


def sent_last_24_hours(account: Account | str, region: Region | str, now: datetime) -> int:
    account_id = account if isinstance(account, str) else account.pk
    region_id = region if isinstance(region, str) else region.pk
    [[(total,)]] = sql.run_together([_usage_since(account_id, region_id, now - DAY)])
    return int(total or 0)


def take(
    account_state: AccountRegion,
    *,
    rate_recipients: int,
    daily_recipients: int,
    now: datetime,
    then: sql.Statement,
) -> list[tuple[Any, ...]]:
    """Spend the rate and the daily quota and run `then` (the message's INSERT) in one
    transaction, committed when this returns (or part of the caller's open transaction); or
    raise SendRefused with nothing spent. Returns `then`'s rows.

    The account region's row is locked until the commit, so concurrent sends from many
    processes cannot overspend. Two round trips, BEGIN and COMMIT included
    (`sql.transaction_in_two_queries`): the transaction's BEGIN with the lock and the 24-hour
    sum, then the bucket's update, the minute's counter and `then` with the COMMIT. A refusal
    rolls back. An account without limits (the operator set both to -1) has nothing to spend
    or to check: no lock, no sum, and its counter and `then` are one statement, its own
    transaction (`sql.run_in_one_statement`).
    """
    if _unlimited(account_state):
        writes = _writes(account_state, None, rate_recipients, daily_recipients, now)
        return sql.run_in_one_statement(writes, then)
    with sql.transaction_in_two_queries() as two_queries:
        state, used = _locked(
            two_queries, account_state, now - DAY, with_usage=bool(daily_recipients)
        )
        quota = state.send_quota()
        tokens = None
        if quota.max_send_rate >= 0:
            capacity = max(quota.max_send_rate, 1.0)
            tokens = capacity
            if state.rate_tokens is not None and state.rate_tokens_at is not None:
                elapsed = max((now - state.rate_tokens_at).total_seconds(), 0.0)
                tokens = min(capacity, state.rate_tokens + elapsed * quota.max_send_rate)
            if tokens < 1.0:
                raise SendRefused(RefusalKind.RATE_EXCEEDED, RATE_EXCEEDED)
        limited = quota.max_24_hour_send >= 0 and daily_recipients
        if limited and used + daily_recipients > quota.max_24_hour_send:
            raise SendRefused(RefusalKind.DAILY_QUOTA_EXCEEDED, DAILY_QUOTA_EXCEEDED)
        writes = _writes(state, tokens, rate_recipients, daily_recipients, now)
        return two_queries.last([*writes, then])[-1]


def _writes(
    state: AccountRegion,
    tokens: float | None,
    rate_recipients: int,
    daily_recipients: int,
    now: datetime,
) -> list[sql.Statement]:
    """The rate bucket's update (when the rate is limited: `tokens` left before this send)
    and the minute's counter (when recipients count against the daily quota)."""
    writes: list[sql.Statement] = []
    if tokens is not None:
        writes.append(_spend_rate(state, tokens - rate_recipients, now))
    if daily_recipients:
        writes.append(_count(state, now.replace(second=0, microsecond=0), daily_recipients))
    return writes


def _unlimited(state: AccountRegion) -> bool:
    quota = state.send_quota()
    return quota.max_send_rate < 0 and quota.max_24_hour_send < 0


# The statements' text depends only on the models and the database, so each is written once
# per process (@cache): building them from `_meta` on every send cost ~0.4 ms of a ~4 ms send
# (cProfile: ~90 quote_name calls per message).
def settings_statement(account: Account, region: Region) -> sql.Statement:
    """The account's settings row in the region, for `send` to read with its identities in one
    round trip (`sql.run_together`); `settings_from` reads it."""
    return _settings_sql(), [account.pk, region.pk]


@cache
def _settings_sql() -> str:
    table = sql.table(AccountRegion)
    account, region = (sql.column(AccountRegion, n) for n in ("account", "region"))
    return (
        f"SELECT {sql.columns(AccountRegion, table)} FROM {table} "  # noqa: S608
        f"WHERE {account} = %s AND {region} = %s"
    )


def settings_from(rows: list[tuple[Any, ...]]) -> AccountRegion | None:
    """None: the account has not used the region yet (Account.region_settings creates it)."""
    return sql.instance(AccountRegion, rows[0], 0)[0] if rows else None


def _locked(
    two_queries: sql.TwoQueries, state: AccountRegion, since: datetime, *, with_usage: bool
) -> tuple[AccountRegion, int]:
    """The account region's row read again under a no-key row lock, and (when asked) the
    recipients counted since `since`, read after the lock was granted: the transaction's first
    query."""
    statements: list[sql.Statement] = [(_locked_sql(), [state.pk])]
    if with_usage:
        statements.append(_usage_since(state.account_id, state.region_id, since))
    results = two_queries.first(statements)
    locked = settings_from(results[0])
    assert locked is not None  # the caller read it; rows are not deleted while in use
    return locked, int(results[1][0][0] or 0) if with_usage else 0


@cache
def _locked_sql() -> str:
    table = sql.table(AccountRegion)
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    return (
        f"SELECT {sql.columns(AccountRegion, table)} FROM {table} "  # noqa: S608
        f"WHERE {sql.column(AccountRegion, 'id')} = %s{lock}"
    )


def _usage_since(account_id: str, region_id: str, since: datetime) -> sql.Statement:
    return _usage_since_sql(), [
        account_id,
        region_id,
        connection.ops.adapt_datetimefield_value(since),
    ]


@cache
def _usage_since_sql() -> str:
    table, account, region, at, count = _usage_names()
    return (
        f"SELECT SUM({count}) FROM {table} "  # noqa: S608
        f"WHERE {account} = %s AND {region} = %s AND {at} > %s"
    )


def _spend_rate(state: AccountRegion, tokens: float, now: datetime) -> sql.Statement:
    return _spend_rate_sql(), [tokens, connection.ops.adapt_datetimefield_value(now), state.pk]


@cache
def _spend_rate_sql() -> str:
    table = sql.table(AccountRegion)
    left, at, pk = (sql.column(AccountRegion, n) for n in ("rate_tokens", "rate_tokens_at", "id"))
    return f"UPDATE {table} SET {left} = %s, {at} = %s WHERE {pk} = %s"  # noqa: S608


def _count(state: AccountRegion, minute: datetime, recipients: int) -> sql.Statement:
    """Add to the minute's counter in one statement (PostgreSQL and SQLite both upsert)."""
    at = connection.ops.adapt_datetimefield_value(minute)
    return _count_sql(), [state.account_id, state.region_id, at, recipients]


@cache
def _count_sql() -> str:
    table, account, region, at, count = _usage_names()
    return (
        f"INSERT INTO {table} ({account}, {region}, {at}, {count}) VALUES (%s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({account}, {region}, {at}) DO UPDATE SET {count} = {table}.{count} + "
        f"EXCLUDED.{count}"
    )


def _usage_names() -> tuple[str, ...]:
    """SendingUsage's quoted table and its account, region, minute and recipients columns."""
    names = ("account", "region", "minute", "recipients")
    return (sql.table(SendingUsage), *(sql.column(SendingUsage, name) for name in names))


def forget_old_usage(now: datetime) -> int:
    """Delete counters that no longer fall in anyone's 24 hours."""
    deleted, _ = SendingUsage.objects.filter(minute__lte=now - DAY).delete()
    return deleted
