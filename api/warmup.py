"""What a new web worker does once when it boots rather than in its first requests.

Beyond what every process loads (sesconsole/warmup.py: task modules, Celery's tasks, the
broker's transport), a web worker's first requests loaded the URLconfs and two tables of our
own: the public suffix list the domain validator builds (tldextract, about 17,000 suffixes) and
botocore's model of the SES APIs, which checks every API body. A fresh gunicorn worker paid all
that in its first API calls (BENCHMARKS.md, "Tenth session: CreateEmailIdentity, warm workers").
gunicorn.conf.py calls `warm_up` in each worker once it has loaded the application, before it
accepts requests. Like the shared part, it opens no connection.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.urls import get_resolver

from sesconsole import validators, warmup

from . import shapes


def warm_up() -> None:
    """Load what a worker's first requests would load (see the module's docstring)."""
    with warmup.timed(f"web worker pid={os.getpid()}"):
        warmup.load_shared()
        _load_urlconfs()
        validators.normalize_domain("example.com")  # builds the public suffix list
        shapes.service_model("sesv2")
        shapes.service_model("ses")  # the v1 Query API's


def _load_urlconfs() -> None:
    """Import the URLconfs with their views and compile their patterns. The API's own
    URLconfs (`api.middleware`) are included in the root one: their patterns are the same
    objects, compiled here too."""
    get_resolver(settings.ROOT_URLCONF).reverse_dict  # noqa: B018 (populates: imports, compiles)
