"""`quota.take` reads the 24-hour sum in the same round trip as the row lock
(`sql.run_together`): the sum must still see what a concurrent send committed while this one
waited for the lock, or two sends could both pass a daily quota that has room for one."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from accounts.models import Account, Region
from sending import quota
from sending.errors import RefusalKind, SendRefused

NOTHING_MORE: tuple[str, list[object]] = ("SELECT 1", [])


@pytest.mark.django_db(transaction=True)
def test_a_send_waiting_for_the_lock_counts_what_the_holder_committed(
    account: Account, region: Region
) -> None:
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_24_hour_send, state.max_send_rate = 1, -1
    state.save(update_fields=["max_24_hour_send", "max_send_rate"])
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_send() -> None:
        try:
            with transaction.atomic():
                quota.take(
                    state,
                    rate_recipients=1,
                    daily_recipients=1,
                    now=timezone.now(),
                    then=NOTHING_MORE,
                )
                holding.set()
                release.wait(10)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    holder = threading.Thread(target=first_send)
    holder.start()
    assert holding.wait(10)
    # Commit the first send once the second is (very likely) waiting on the row lock.
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with pytest.raises(SendRefused) as refused, transaction.atomic():
        quota.take(
            state, rate_recipients=1, daily_recipients=1, now=timezone.now(), then=NOTHING_MORE
        )
    holder.join(10)
    close_old_connections()
    assert not errors
    assert refused.value.kind == RefusalKind.DAILY_QUOTA_EXCEEDED
    assert time.monotonic() - started >= 0.4  # it did wait for the first send's lock
