"""What the PostgreSQL client sends on the wire, read from libpq's own protocol trace.

Django's query capture sees the statements Django executes, not the BEGIN and COMMIT psycopg
sends for `transaction.atomic()`; a round trip saved or added there only shows here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from psycopg import pq

from tests.support.services import require


@dataclass
class Wire:
    lines: list[str] = field(default_factory=list)

    @property
    def queries(self) -> list[str]:
        """The text of each simple-protocol Query message the client sent, in order."""
        return [line.split("\t", 3)[3].strip()[1:-1] for line in self._sent("Query")]

    @property
    def prepared(self) -> list[str]:
        """What each Parse message the client sent holds (the statement's name and text), in
        order: a statement is parsed once per connection, before its first Bind."""
        return [line.split("\t", 3)[3].strip() for line in self._sent("Parse")]

    @property
    def round_trips(self) -> int:
        """How many statements' exchanges the client waited for: each simple-protocol Query,
        and each extended-protocol exchange that executed a prepared statement (up to its
        Sync). Preparing one (Parse, Sync) happens once per connection and is not counted."""
        count, executed = 0, False
        for line in self.lines:
            kind = line.split("\t")[2].strip() if line.startswith("F\t") else ""
            if kind == "Query":
                count += 1
            elif kind == "Execute":
                executed = True
            elif kind == "Sync" and executed:
                count, executed = count + 1, False
        return count

    @property
    def transaction_states(self) -> list[str]:
        """ReadyForQuery's status after each answer: I idle (committed), T in a transaction."""
        received = [line for line in self.lines if line.startswith("B\t")]
        return [line.split("\t")[3].strip() for line in received if "\tReadyForQuery\t" in line]

    def _sent(self, message: str) -> list[str]:
        return [line for line in self.lines if line.startswith("F\t") and f"\t{message}\t" in line]


@contextmanager
def traced() -> Iterator[Wire]:
    """The messages exchanged on Django's default connection inside the block."""
    require(
        connection.vendor == "postgresql",
        "PostgreSQL",
        "Run the tests with DATABASE_URL=postgres://... (scripts/test does when it answers).",
    )
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    wire = Wire()
    with tempfile.TemporaryFile(mode="w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield wire
        finally:
            pgconn.untrace()
            trace.seek(0)
            wire.lines.extend(trace.read().splitlines())
