"""`quota.take` outside a transaction (a request, an SMTP session): two round trips, BEGIN with
the row lock and the 24-hour sum, COMMIT with the writes (`sql.transaction_in_two_queries`).
The quota stays exact under concurrency, and a refusal leaves no transaction open and no row
locked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from django.db import DataError, OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from accounts.models import Account, AccountRegion, Region
from sending import quota
from sending.errors import RefusalKind, SendRefused
from sending.models import SendingUsage
from tests.support import wire

pytestmark = pytest.mark.django_db(transaction=True)

NOTHING_MORE: tuple[str, list[object]] = ("SELECT 1", [])


def limited(account: Account, region: Region, *, rate: float, daily: int) -> AccountRegion:
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_send_rate, state.max_24_hour_send = rate, daily
    state.save(update_fields=["max_send_rate", "max_24_hour_send"])
    return state


def take(state: AccountRegion, now: datetime | None = None) -> list[tuple[Any, ...]]:
    return quota.take(
        state,
        rate_recipients=1,
        daily_recipients=1,
        now=now or timezone.now(),
        then=NOTHING_MORE,
    )


def in_another_connection(work: Callable[[], Any]) -> Any:
    """`work`'s answer (or exception) on a connection of its own (Django's are per thread)."""

    def run() -> Any:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=10)


def row_is_locked(state: AccountRegion) -> bool:
    def try_lock() -> bool:
        try:
            with transaction.atomic():
                AccountRegion.objects.select_for_update(nowait=True).get(pk=state.pk)
        except OperationalError:
            return True
        return False

    return bool(in_another_connection(try_lock))


def test_a_send_is_two_round_trips(account: Account, region: Region) -> None:
    state = limited(account, region, rate=14, daily=200)
    with wire.traced() as sent:
        assert take(state) == [(1,)]

    assert len(sent.queries) == 2, sent.queries
    assert sent.queries[0].startswith("BEGIN; SELECT")
    assert "FOR NO KEY UPDATE; SELECT SUM(" in sent.queries[0]
    assert sent.queries[1].endswith("; SELECT 1; COMMIT")
    assert sent.transaction_states == ["T", "I"]
    assert SendingUsage.objects.get().recipients == 1


@pytest.mark.parametrize(
    ("rate", "daily", "refusal"),
    [(14, 0, RefusalKind.DAILY_QUOTA_EXCEEDED), (0, 200, RefusalKind.RATE_EXCEEDED)],
)
def test_a_refusal_rolls_back_and_unlocks_the_row(
    account: Account, region: Region, rate: float, daily: int, refusal: RefusalKind
) -> None:
    state = limited(account, region, rate=rate, daily=daily)
    now = timezone.now()
    if rate == 0:  # a rate of 0 still has a capacity of 1: spend it
        take(state, now)
    with wire.traced() as sent, pytest.raises(SendRefused) as refused:
        take(state, now)

    assert refused.value.kind == refusal
    assert [q.split(";")[0] for q in sent.queries] == ["BEGIN", "ROLLBACK"]
    assert sent.transaction_states == ["T", "I"]
    assert not row_is_locked(state)
    assert connection.get_autocommit()
    state.refresh_from_db()  # the connection answers
    assert SendingUsage.objects.count() == (1 if rate == 0 else 0)


def test_a_database_error_in_the_writes_spends_nothing(account: Account, region: Region) -> None:
    state = limited(account, region, rate=14, daily=200)
    with pytest.raises(DataError):
        quota.take(
            state,
            rate_recipients=1,
            daily_recipients=1,
            now=timezone.now(),
            then=("SELECT 1 / 0", []),  # fails on the server after the bucket and the counter
        )

    assert not row_is_locked(state)
    assert SendingUsage.objects.count() == 0
    state.refresh_from_db()
    assert state.rate_tokens is None  # the bucket's update was rolled back too
    assert take(state) == [(1,)]  # the connection sends again


def test_a_send_waiting_for_the_lock_counts_what_the_holder_committed(
    account: Account, region: Region
) -> None:
    """The holder spends the last of the daily quota while the send waits for the row lock;
    the send's sum, in the same query as its lock, must see it."""
    state = limited(account, region, rate=-1, daily=1)
    holding, release = threading.Event(), threading.Event()

    def hold_and_spend() -> None:
        with transaction.atomic():
            AccountRegion.objects.select_for_update().get(pk=state.pk)
            SendingUsage.objects.create(
                account=account, region=region, minute=timezone.now(), recipients=1
            )
            holding.set()
            release.wait(10)

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(in_another_connection, hold_and_spend)
        assert holding.wait(10)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        with pytest.raises(SendRefused) as refused:
            take(state)
        holder.result(timeout=10)

    assert refused.value.kind == RefusalKind.DAILY_QUOTA_EXCEEDED
    assert time.monotonic() - started >= 0.4  # it did wait for the holder's lock


@pytest.mark.parametrize(("rate", "daily", "allowed"), [(-1, 7, 7), (3, -1, 3)])
def test_concurrent_sends_take_exactly_the_quota(
    account: Account, region: Region, rate: float, daily: int, allowed: int
) -> None:
    """Four connections send five messages each at the same instant (the rate's bucket holds
    `rate` tokens and does not refill): exactly `allowed` go through."""
    state = limited(account, region, rate=rate, daily=daily)
    now = timezone.now()

    def five_sends() -> int:
        sent = 0
        for _ in range(5):
            try:
                take(state, now)
                sent += 1
            except SendRefused:
                pass
        connection.close()
        return sent

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = sum(pool.map(lambda _: five_sends(), range(4)))
    close_old_connections()

    assert sent == allowed
    assert not row_is_locked(state)
