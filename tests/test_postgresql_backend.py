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
