"""Sending quotas at send time: the rate (a token bucket) and the rolling 24-hour count.

SES counts recipients, not messages, against both (DG quotas; django-ses#59). A send goes
through while any rate is left, even with more recipients than that, and later sends wait
until the bucket refills. Mailbox simulator recipients count against the rate only. `-1`
means unlimited, as SES reports it. Both are checked and taken under the account region's row
lock (`take`), so concurrent sends from many web processes cannot overspend.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Sum

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
    total = SendingUsage.objects.filter(
        account_id=account_id, region_id=region_id, minute__gt=now - DAY
    ).aggregate(total=Sum("recipients"))["total"]
    return int(total or 0)


def locked(state: AccountRegion) -> AccountRegion:
    """The account region's row again, locked until the transaction ends (inside atomic)."""
    return AccountRegion.objects.select_for_update(no_key=True).get(pk=state.pk)


def take(
    state: AccountRegion, *, rate_recipients: int, daily_recipients: int, now: datetime
) -> None:
    """Spend the rate and the daily quota, or raise SendRefused (nothing spent)."""
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
    if quota.max_24_hour_send >= 0 and daily_recipients:
        used = sent_last_24_hours(state.account_id, state.region_id, now)
        if used + daily_recipients > quota.max_24_hour_send:
            raise SendRefused(RefusalKind.DAILY_QUOTA_EXCEEDED, DAILY_QUOTA_EXCEEDED)
    if tokens is not None:
        state.rate_tokens = tokens - rate_recipients
        state.rate_tokens_at = now
        state.save(update_fields=["rate_tokens", "rate_tokens_at"])
    if daily_recipients:
        _count(state, now.replace(second=0, microsecond=0), daily_recipients)


def _count(state: AccountRegion, minute: datetime, recipients: int) -> None:
    """Add to the minute's counter in one statement (PostgreSQL and SQLite both upsert)."""
    table = sql.table(SendingUsage)
    account, region, at, count = (
        sql.column(SendingUsage, name) for name in ("account", "region", "minute", "recipients")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({account}, {region}, {at}, {count}) VALUES (%s, %s, %s, %s) "  # noqa: S608
            f"ON CONFLICT ({account}, {region}, {at}) DO UPDATE SET {count} = {table}.{count} + "
            f"EXCLUDED.{count}",
            [state.account_id, state.region_id, minute, recipients],
        )


def forget_old_usage(now: datetime) -> int:
    """Delete counters that no longer fall in anyone's 24 hours."""
    deleted, _ = SendingUsage.objects.filter(minute__lte=now - DAY).delete()
    return deleted
