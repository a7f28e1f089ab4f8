"""The floor for bench/smtp.py: a bare aiosmtpd server that stores each message durably
before it answers, and does nothing else.

    .venv/bin/python bench/smtp_floor.py PORT DATABASE_URL

DATA runs one INSERT of the envelope and the message (autocommit: a commit per message,
flushed to disk as PostgreSQL's default `synchronous_commit` does) on a worker thread, as
sesconsole's server does its database work, then answers `250 Ok <id>`. No AUTH, no rules,
no broker: what one connection's messages/s can be once the protocol and one durable commit
per message are paid. Stopped by SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from aiosmtpd.smtp import SMTP, Envelope, Session

TABLE = "bench_floor_message"


class StoringHandler:
    def __init__(self, database_url: str) -> None:
        self.connection = psycopg.connect(database_url, autocommit=True)
        self.connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, sender text, recipients text[], mime bytea)"
        )
        self.worker = ThreadPoolExecutor(max_workers=1)

    def store(self, sender: str, recipients: list[str], content: bytes) -> int:
        row = self.connection.execute(
            f"INSERT INTO {TABLE} (sender, recipients, mime) VALUES (%s, %s, %s) RETURNING id",
            [sender, recipients, content],
        ).fetchone()
        assert row is not None
        return int(row[0])

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        loop = asyncio.get_running_loop()
        stored = await loop.run_in_executor(
            self.worker,
            self.store,
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content,
        )
        return f"250 Ok {stored}"


async def serve(port: int, database_url: str) -> None:
    handler = StoringHandler(database_url)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
