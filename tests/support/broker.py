"""Read back what the app published to the Celery broker (the tests' in-memory one)."""

from __future__ import annotations

from typing import Any

from sesconsole.celery import app
from sesconsole.enqueue import wait_for_background_publishes


def drain_published() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Take every message waiting in the "celery" queue: (headers, task kwargs), oldest first."""
    # Deliveries are published by a background thread (sesconsole.enqueue): let it finish.
    assert wait_for_background_publishes()
    found = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue("celery")
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                break
            _args, kwargs, _embed = message.decode()
            found.append((dict(message.headers), kwargs))
            message.ack()
        queue.close()
    return found
