"""api.warmup: a new web worker loads what its first requests would load, before it takes any,
without opening a connection; gunicorn.conf.py runs it in every worker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from tests.support.celery_worker import BASE_DIR, wait_for
from tests.support.web_server import web_server

# What a worker's first requests loaded before (BENCHMARKS.md, "Tenth session"): an API view
# module, a tasks module with its DNS library, the broker's transport and redis-py's asyncio.
LOADED_LAZILY = [
    "api.identities",
    "identities.tasks",
    "verification.tasks",
    "dns.asyncresolver",
    "kombu.transport.redis",
    "redis.asyncio",
]

FRESH_WORKER = """
import json, os, sys
from sesconsole.wsgi import application  # what a gunicorn worker loads first

from api import shapes
from sesconsole import validators


def state():
    return {
        "modules": {name: name in sys.modules for name in LOADED_LAZILY},
        "sockets": sum(
            os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")
        ),
        # tldextract builds its suffix table on the first lookup, not with the object.
        "suffix_list_built": validators._public_suffixes()._extractor is not None,
        "service_models": shapes.service_model.cache_info().currsize,
    }


before = state()
from api.warmup import warm_up

warm_up()
from django.db import connections

after = state()
after["database_connected"] = connections["default"].connection is not None
print(json.dumps({"before": before, "after": after}))
"""


def fresh_worker() -> dict[str, Any]:
    """`warm_up` in a new interpreter that has loaded the WSGI application, as a gunicorn
    worker has when its post_worker_init hook runs: what it had loaded before and after."""
    code = f"LOADED_LAZILY = {LOADED_LAZILY!r}\n{FRESH_WORKER}"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sesconsole.settings",
            # A deployment's broker: the transport to load is kombu's Redis one.
            "CELERY_BROKER_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_warm_up_loads_what_the_first_requests_loaded_without_connecting() -> None:
    states = fresh_worker()
    before, after = states["before"], states["after"]

    assert before["modules"] == dict.fromkeys(LOADED_LAZILY, False)
    assert after["modules"] == dict.fromkeys(LOADED_LAZILY, True)
    assert (before["suffix_list_built"], after["suffix_list_built"]) == (False, True)
    assert (before["service_models"], after["service_models"]) == (0, 2)  # sesv2 and ses
    assert after["sockets"] == before["sockets"]  # neither PostgreSQL nor the broker
    assert after["database_connected"] is False


def test_gunicorn_warms_every_worker_before_it_serves() -> None:
    with web_server({"LOG_LEVEL": "INFO"}, workers=2) as server:
        wait_for(
            lambda: len(re.findall(r"web worker pid=\d+ warmed up in", server.log())) == 2,
            60,
            "both workers to warm up",
        )
        warmed = set(re.findall(r"web worker pid=(\d+) warmed up in", server.log()))
        booted = set(re.findall(r"Booting worker with pid: (\d+)", server.log()))

    assert len(warmed) == 2
    assert warmed == booted


def test_the_hook_leaves_an_application_without_django_alone() -> None:
    # bench/api.py serves a bare WSGI app (its floor) with the same gunicorn.conf.py.
    code = (
        "import runpy, sys; runpy.run_path('gunicorn.conf.py')['post_worker_init'](None); "
        "print('api.warmup' in sys.modules, 'api.urls' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["False", "False"]
