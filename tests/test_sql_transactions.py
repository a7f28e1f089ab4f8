"""sesconsole.sql.run_in_one_transaction: all or nothing, committed when it returns, and on
PostgreSQL outside a transaction one query with no BEGIN and COMMIT round trips."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account, Region
from sending.models import SendingUsage
from sesconsole import sql
from tests.support import wire

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = timezone.now().replace(second=0, microsecond=0)


def counter(account: Account, region: Region, recipients: int) -> sql.Statement:
    """An INSERT of the minute's SendingUsage row (any plain write would do); a second one
    for the same minute breaks the row's unique constraint."""
    table = sql.table(SendingUsage)
    names = ", ".join(sql.column(SendingUsage, n) for n in ("account", "region", "minute"))
    return (
        f"INSERT INTO {table} ({names}, {sql.column(SendingUsage, 'recipients')}) "
        "VALUES (%s, %s, %s, %s)",
        [account.pk, region.pk, connection.ops.adapt_datetimefield_value(MINUTE), recipients],
    )  # fmt: skip


def test_a_failing_statement_leaves_nothing_of_the_others(account: Account, region: Region) -> None:
    with pytest.raises(IntegrityError):
        sql.run_in_one_transaction([counter(account, region, 1), counter(account, region, 2)])

    assert SendingUsage.objects.count() == 0
    assert connection.get_autocommit()  # no transaction left open


def test_inside_a_callers_transaction_the_statements_are_part_of_it(
    account: Account, region: Region
) -> None:
    with transaction.atomic():
        sql.run_in_one_transaction([counter(account, region, 1)])
        seen_inside = SendingUsage.objects.count()
        transaction.set_rollback(True)  # the caller rolls back

    assert (seen_inside, SendingUsage.objects.count()) == (1, 0)


def test_outside_a_transaction_it_is_one_query_committed_before_it_returns(
    account: Account, region: Region
) -> None:
    with wire.traced() as sent:
        [written, [(answer,)]] = sql.run_in_one_transaction(
            [counter(account, region, 3), ("SELECT 42", [])]
        )

    assert (written, answer) == ([], 42)
    assert len(sent.queries) == 1, sent.queries
    assert sent.queries[0].startswith("INSERT INTO")
    assert sent.transaction_states == ["I"]  # idle: committed, no transaction left open
    assert SendingUsage.objects.get().recipients == 3
