"""Account.lock(): the one lock behind the per-account limits (identities, templates, custom
verification mails). Two holders queue; rows that merely reference the account do not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from accounts.models import Account, Region
from identities.models import ConfigurationSet
from tests.support.services import require

pytestmark = pytest.mark.django_db(transaction=True)


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> bool:
    """Poll `condition()` until it is true or `seconds` pass (threads give no other signal for
    a backend blocked inside PostgreSQL)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_second_lock_waits_for_the_first_while_inserts_that_reference_the_account_go_on(
    account: Account, region: Region
) -> None:
    require(
        connection.vendor == "postgresql",
        "PostgreSQL",
        "Run the tests with DATABASE_URL=postgres://... (scripts/test does when it answers).",
    )
    held, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        try:
            with transaction.atomic():
                account.lock()
                held.set()
                release.wait(10)
                order.append("first commits")
        finally:
            connection.close()

    def second() -> None:
        try:
            held.wait(10)
            with transaction.atomic():
                account.lock()
                order.append("second locks")
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: backends_waiting_for_a_lock() == 1)
        # A new row pointing at the account takes only FOR KEY SHARE on it: not blocked (the
        # timeout turns a wrong lock into an error instead of a hang).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            ConfigurationSet.objects.create(account=account, region=region, name="during")
    finally:
        release.set()
        for thread in threads:
            thread.join(10)

    assert order == ["first commits", "second locks"]
    assert ConfigurationSet.objects.filter(account=account).count() == 1
