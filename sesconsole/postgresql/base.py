"""Django's PostgreSQL backend, pinging only the persistent connections that sat idle.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` on a reused connection before the first query
of every request, so that a connection the server closed (a restart, a timeout) is replaced
instead of failing the request. On a busy worker that ping is one more round trip per request,
as costly as a real query: a third of GetEmailIdentity's database time (bench/api.py).

A connection used less than `TRUSTED_FOR` ago is not pinged again. Closing it takes the
server a restart or a terminated backend; a restart that happens while requests are flowing fails
the requests in flight whether or not they ping (they answer 503 and the next ones reconnect), and
any connection idle for longer than that still gets its ping.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

# Far shorter than a PostgreSQL restart (a fast shutdown and a start), far longer than the gap
# between requests on a busy worker.
TRUSTED_FOR = 0.25  # seconds


class DatabaseWrapper(base.DatabaseWrapper):
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
