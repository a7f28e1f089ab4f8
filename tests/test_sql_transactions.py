"""sesconsole.sql.run_in_one_transaction: all or nothing, committed when it returns, and on
PostgreSQL outside a transaction one query with no BEGIN and COMMIT round trips; and
sql.transaction_in_two_queries: BEGIN and COMMIT sent with the statements, nothing left open
after an exception; and sql.run_in_one_statement: writes and a last statement as one prepared
statement, all or nothing."""

from __future__ import annotations

from collections.abc import Callable

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


@pytest.mark.parametrize(
    "run",
    [
        lambda statement: sql.run_in_one_transaction([statement]),
        lambda statement: sql.run_in_one_statement([], statement),
    ],
    ids=["run_in_one_transaction", "run_in_one_statement"],
)
def test_inside_a_callers_transaction_the_statements_are_part_of_it(
    account: Account, region: Region, run: Callable[[sql.Statement], object]
) -> None:
    with transaction.atomic():
        run(counter(account, region, 1))
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


# --- sql.run_in_one_statement ----------------------------------------------------------------
def test_one_statement_runs_the_writes_and_answers_with_the_last(
    account: Account, region: Region
) -> None:
    with wire.traced() as sent:
        [(answer,)] = sql.run_in_one_statement([counter(account, region, 3)], ("SELECT 42", []))

    assert answer == 42
    assert SendingUsage.objects.get().recipients == 3  # run though nothing reads it
    if connection.vendor == "postgresql":
        assert sent.round_trips == 1
        assert sent.queries == []  # one prepared statement, not a simple query
        assert sent.transaction_states[-1] == "I"  # committed before it returned


def test_one_statement_is_all_or_nothing(account: Account, region: Region) -> None:
    with pytest.raises(IntegrityError):
        # The counter is written, then the last statement breaks the row's unique constraint.
        sql.run_in_one_statement([counter(account, region, 1)], counter(account, region, 2))

    assert SendingUsage.objects.count() == 0
    assert connection.get_autocommit()  # no transaction left open


# --- sql.transaction_in_two_queries ----------------------------------------------------------
def test_two_queries_begin_with_the_first_and_commit_with_the_last(
    account: Account, region: Region
) -> None:
    with wire.traced() as sent, sql.transaction_in_two_queries() as two_queries:
        [[(first,)]] = two_queries.first([("SELECT 1", [])])
        [written, [(last,)]] = two_queries.last([counter(account, region, 3), ("SELECT 2", [])])

    assert (first, written, last) == (1, [], 2)
    assert len(sent.queries) == 2, sent.queries
    assert sent.queries[0] == "BEGIN; SELECT 1"
    assert sent.queries[1].startswith("INSERT INTO")
    assert sent.queries[1].endswith("; SELECT 2; COMMIT")
    assert sent.transaction_states == ["T", "I"]  # open between the two, committed after
    assert SendingUsage.objects.get().recipients == 3


def test_an_exception_between_the_two_rolls_back(account: Account, region: Region) -> None:
    with (  # noqa: PT012
        wire.traced() as sent,
        pytest.raises(ValueError, match="decided"),
        sql.transaction_in_two_queries() as two_queries,
    ):
        two_queries.first([counter(account, region, 1)])
        raise ValueError("decided in Python: refuse")

    assert sent.queries[-1] == "ROLLBACK"
    assert sent.transaction_states[-1] == "I"
    assert SendingUsage.objects.count() == 0
    assert connection.get_autocommit()


def test_a_block_that_never_reaches_last_rolls_back(account: Account, region: Region) -> None:
    with sql.transaction_in_two_queries() as two_queries:
        two_queries.first([counter(account, region, 1)])

    assert SendingUsage.objects.count() == 0


def test_a_failing_write_rolls_back_and_the_connection_stays_usable(
    account: Account, region: Region
) -> None:
    with (  # noqa: PT012
        wire.traced() as sent,
        pytest.raises(IntegrityError),
        sql.transaction_in_two_queries() as two_queries,
    ):
        two_queries.first([counter(account, region, 1)])
        two_queries.last([counter(account, region, 2)])  # the same minute again

    assert sent.queries[-1] == "ROLLBACK"
    assert sent.transaction_states[-1] == "I"
    assert SendingUsage.objects.count() == 0  # usable: this query answers


def test_a_failing_commit_leaves_no_transaction_open(account: Account, region: Region) -> None:
    """Django's foreign keys are checked at the COMMIT (deferred): the server has ended the
    transaction, so nothing more is sent."""
    unknown = Account(id="999999999999")
    with (  # noqa: PT012
        wire.traced() as sent,
        pytest.raises(IntegrityError),
        sql.transaction_in_two_queries() as two_queries,
    ):
        two_queries.first([("SELECT 1", [])])
        two_queries.last([counter(unknown, region, 1)])

    assert len(sent.queries) == 2, sent.queries
    assert sent.transaction_states == ["T", "I"]
    assert SendingUsage.objects.count() == 0


def test_inside_a_callers_transaction_the_two_queries_are_part_of_it(
    account: Account, region: Region
) -> None:
    with transaction.atomic():
        with wire.traced() as sent, sql.transaction_in_two_queries() as two_queries:
            two_queries.first([("SELECT 1", [])])
            two_queries.last([counter(account, region, 1)])
        seen_inside = SendingUsage.objects.count()
        transaction.set_rollback(True)  # the caller rolls back

    assert (seen_inside, SendingUsage.objects.count()) == (1, 0)
    assert not any("COMMIT" in query for query in sent.queries), sent.queries


def test_with_no_statements_first_only_begins_and_last_only_commits(
    account: Account, region: Region
) -> None:
    """For a caller whose writes between the two go through the ORM (create_identity's
    fallback when its inserts cannot be one statement)."""
    with wire.traced() as sent, sql.transaction_in_two_queries() as two_queries:
        assert two_queries.first([]) == []
        SendingUsage.objects.create(account=account, region=region, minute=MINUTE, recipients=4)
        assert two_queries.last() == []

    assert sent.queries[0] == "BEGIN"
    assert sent.queries[-1] == "COMMIT"
    assert sent.transaction_states[0] == "T"
    assert sent.transaction_states[-1] == "I"
    assert SendingUsage.objects.get().recipients == 4


def test_with_no_statements_inside_a_callers_transaction_nothing_of_its_own_is_sent(
    account: Account, region: Region
) -> None:
    with transaction.atomic():
        with wire.traced() as sent, sql.transaction_in_two_queries() as two_queries:
            assert (two_queries.first([]), two_queries.last()) == ([], [])
        transaction.set_rollback(True)

    # Only the caller's transaction and the savepoint of atomic() nested in it: no empty
    # query, no COMMIT.
    assert [query.split()[0] for query in sent.queries] == ["BEGIN", "SAVEPOINT", "RELEASE"]
