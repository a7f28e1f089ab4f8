"""Django's PostgreSQL backend, with two changes for the hot paths of every request.

**Health checks ping only connections that sat idle.** With CONN_HEALTH_CHECKS, Django sends
`SELECT 1` on a reused connection before the first query of every request, so that a connection
the server closed (a restart, a timeout) is replaced instead of failing the request. On a busy
worker that ping is one more round trip per request, as costly as a real query: a third of
GetEmailIdentity's database time (bench/api.py).

A connection used less than `TRUSTED_FOR` ago is not pinged again. Closing it takes the
server a restart or a terminated backend; a restart that happens while requests are flowing fails
the requests in flight whether or not they ping (they answer 503 and the next ones reconnect), and
any connection idle for longer than that still gets its ping.

**`prepared_cursor()` runs statements as server-side prepared statements.** Django binds
parameters on the client and never prepares, so PostgreSQL parses and plans every statement
anew. For the API's two reads per call (`api/reads.py`) planning costs more than executing: 0.11
and 0.21 ms of planning against 0.03 and 0.08 ms of execution (EXPLAIN ANALYZE on the benchmark
database). A prepared statement is planned once per connection. It needs the connection's
`prepare_threshold` to be a number (the settings set it unless DATABASE_PREPARED_STATEMENTS is
off, for transaction-mode poolers that cannot keep prepared statements); with None, psycopg
runs the same statements unprepared. Every other query keeps Django's client-side binding.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base, operations
from django.db.backends.utils import CursorWrapper

# Far shorter than a PostgreSQL restart (a fast shutdown and a start), far longer than the gap
# between requests on a busy worker.
TRUSTED_FOR = 0.25  # seconds


# Untyped in django-stubs: Django defines its cursor classes only when psycopg 3 is installed.
_ServerBindingCursor: Any = base.ServerBindingCursor


class PreparingCursor(_ServerBindingCursor):
    """A server-side binding cursor whose every statement is prepared (once per connection)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
    ) -> Any:
        return super().execute(query, params, prepare=True, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # Django reads the client-bound text off the cursor; a prepared statement has none.
        # For query logging (DEBUG, tests): the statement with its parameters, as Django shows
        # server-bound queries.
        if isinstance(cursor, PreparingCursor):
            composed: str = self.compose_sql(sql, params)
            return composed
        return super().last_executed_query(cursor, sql, params)  # type: ignore[no-any-return]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    used_at: float = float("-inf")

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done  # type: ignore[has-type]  # untyped in Django
            and time.monotonic() - self.used_at < TRUSTED_FOR
        ):
            self.health_check_done = True
        else:
            super().close_if_health_check_failed()
        self.used_at = time.monotonic()

    def prepared_cursor(self) -> CursorWrapper:
        """Like `cursor()` (health check, connection, query logging, execute wrappers), for
        statements worth preparing: a fixed text run on every request."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor: CursorWrapper = self._prepare_cursor(PreparingCursor(self.connection))  # type: ignore[attr-defined]
            return cursor
