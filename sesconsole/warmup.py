"""What a long-running process loads once when it boots rather than in its first requests or mails.

Django and Celery load much of themselves lazily: the task modules (dnspython, dkimpy, the mail
backends...) and the Celery app's task classes on the first task queued, the broker's transport
(kombu's Redis transport, which imports redis-py and with it `redis.asyncio`) on the first
publish. A web worker paid that in its first API calls (0.7-1.1 s, BENCHMARKS.md "Tenth
session"); the SMTP server in its first mail (about 0.28 s, "Eleventh session"), and while its
publisher thread imported the transport it took the GIL from the next mails' sends.

`load_shared` loads what every process that queues tasks would load; each process adds its own
(api/warmup.py: URLconfs, botocore's models; the SMTP server needs nothing more) inside `timed`.

Only imports and in-memory work: no database or broker connection is opened here. Django's
connections are per thread, and both the gthread workers and the SMTP server run their database
work on other threads, so a connection opened here would be one more for PostgreSQL to hold that
nothing would use; the broker's is opened by the thread that publishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.module_loading import autodiscover_modules

from sesconsole.celery import app

log = logging.getLogger(__name__)


@contextmanager
def timed(process: str) -> Iterator[None]:
    """Log how long the block's loading took, naming the process (`web worker pid=...`)."""
    started = time.perf_counter()
    yield
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s warmed up in %.0f ms", process, elapsed_ms)


def load_shared() -> None:
    """The task modules, the Celery app's tasks and the broker's transport."""
    _load_tasks()
    _load_broker_transport()


def _load_tasks() -> None:
    """Import each app's tasks module, as Celery's autodiscovery does on the first task, and
    build the app's tasks. Not `app.loader.import_default_modules()`: in a Django project it
    runs Django's system checks too."""
    autodiscover_modules("tasks")
    app.finalize(auto=True)


def _load_broker_transport() -> None:
    """Import the broker's transport (kombu loads it by name on the first publish), without
    connecting."""
    app.connection_for_write().transport  # noqa: B018 (a lazy property: imports the transport)
