"""What a new web worker does once when it boots rather than in its first requests.

Django and Celery load much of themselves lazily: the URLconfs on the first request, the task
modules (dnspython, dkimpy, the mail backends...) and the Celery app's task classes on the first
task a request queues, the broker's transport (kombu's Redis transport, which imports redis-py
and with it `redis.asyncio`) on the first publish. So do two tables of our own: the public
suffix list the domain validator builds (tldextract, about 17,000 suffixes) and botocore's
model of the SES APIs, which checks every API body. A fresh gunicorn worker paid all that in
its first API calls (BENCHMARKS.md, "Tenth session: CreateEmailIdentity, warm workers").
gunicorn.conf.py calls `warm_up` in each worker once it has loaded the application, before it
accepts requests.

Only imports and in-memory work: no database or broker connection is opened here. Django's
connections are per thread, and a gthread worker serves requests from other threads, so a
connection opened here would be one more for PostgreSQL to hold that no request would use.
"""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.urls import get_resolver
from django.utils.module_loading import autodiscover_modules

from sesconsole import validators
from sesconsole.celery import app

from . import shapes

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Load what a worker's first requests would load (see the module's docstring)."""
    started = time.perf_counter()
    _load_urlconfs()
    _load_tasks()
    _load_broker_transport()
    validators.normalize_domain("example.com")  # builds the public suffix list
    shapes.service_model("sesv2")
    shapes.service_model("ses")  # the v1 Query API's
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("web worker pid=%s warmed up in %.0f ms", os.getpid(), elapsed_ms)


def _load_urlconfs() -> None:
    """Import the URLconfs with their views and compile their patterns. The API's own
    URLconfs (`api.middleware`) are included in the root one: their patterns are the same
    objects, compiled here too."""
    get_resolver(settings.ROOT_URLCONF).reverse_dict  # noqa: B018 (populates: imports, compiles)


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
