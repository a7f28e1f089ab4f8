"""sesconsole.postgresql: the health check pings only connections that sat idle.

Each test simulates two requests on one persistent connection (Django's request_started
handler, `close_old_connections`, runs before each) with the server ending the connection's
backend in between, as a restart does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Region
from tests.support.services import require

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def persistent_connection() -> Iterator[None]:
    require(
        connection.vendor == "postgresql",
        "PostgreSQL",
        "Run the tests with DATABASE_URL=postgres://... (scripts/test does when it answers).",
    )
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    connection.close()
    yield
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 0


def first_request() -> None:
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def end_backend(pid: int) -> None:
    """What a server restart does to the connection: its backend is gone."""
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"),
        dbname=params.get("dbname"), autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_connection_idle_for_a_while_is_pinged_and_replaced(persistent_connection: None) -> None:
    first_request()
    old_pid = backend_pid()
    end_backend(old_pid)
    connection.used_at = time.monotonic() - 1  # type: ignore[attr-defined]  # a second ago

    first_request()  # the ping finds the connection dead; Django reconnects: no error

    assert backend_pid() != old_pid


def test_a_connection_used_moments_ago_is_trusted_without_a_ping(
    persistent_connection: None,
) -> None:
    first_request()
    end_backend(backend_pid())

    # The request right after skips the ping, so it meets the closed connection...
    with pytest.raises(OperationalError):
        first_request()
    # ...and Django drops it when that request ends: the next request works again.
    close_old_connections()
    first_request()


# --- prepared_cursor -----------------------------------------------------------------------
PREPARED_TEXT = "SELECT %s::int + 1 AS prepared_probe"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def postgresql() -> Iterator[None]:
    require(
        connection.vendor == "postgresql",
        "PostgreSQL",
        "Run the tests with DATABASE_URL=postgres://... (scripts/test does when it answers).",
    )
    connection.close()  # a fresh session: no statements prepared by earlier tests
    yield
    connection.close()


def test_prepared_cursor_prepares_its_statement_once_per_connection(postgresql: None) -> None:
    answers = []
    for value in (1, 2, 3):
        with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(PREPARED_TEXT, [value])
            answers.append(cursor.fetchone()[0])

    assert answers == [2, 3, 4]
    assert [text for text in prepared_statements() if "prepared_probe" in text] == [
        "SELECT $1::int + 1 AS prepared_probe"
    ]


def test_prepared_cursor_runs_unprepared_when_prepared_statements_are_off(
    postgresql: None,
) -> None:
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # DATABASE_PREPARED_STATEMENTS=false

    with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(PREPARED_TEXT, [41])
        answer = cursor.fetchone()[0]

    assert answer == 42
    assert not [text for text in prepared_statements() if "prepared_probe" in text]


def test_prepared_statements_are_logged_with_their_parameters(postgresql: None) -> None:
    with CaptureQueriesContext(connection) as queries, connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(PREPARED_TEXT, [7])

    assert [query["sql"] for query in queries] == ["SELECT 7::int + 1 AS prepared_probe"]


def test_with_the_settings_only_prepared_cursor_statements_are_prepared(postgresql: None) -> None:
    """DATABASE_PREPARED_STATEMENTS (on by default) lets prepared_cursor prepare its statements;
    Django's own queries stay bound on the client, however often they run."""
    for _ in range(10):  # more than psycopg's prepare threshold
        list(Region.objects.filter(code="us-east-1").values_list("code", flat=True))
    with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(PREPARED_TEXT, [1])

    assert prepared_statements() == ["SELECT $1::int + 1 AS prepared_probe"]
