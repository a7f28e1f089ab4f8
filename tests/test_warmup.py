"""Warm-up at boot (sesconsole/warmup.py): a new web worker loads what its first requests would
load, before it takes any (api.warmup, run by gunicorn.conf.py in every worker), and the SMTP server
what its first mail would load, before it listens; neither opens a connection."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from typing import Any

from tests.support.celery_worker import BASE_DIR, wait_for
from tests.support.smtp_server import free_port
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

# What the first mail of an SMTP server loaded before (BENCHMARKS.md, "Eleventh session"): the
# sending tasks with dkimpy and dnspython, and the broker's transport.
LOADED_BY_FIRST_MAIL = ["sending.tasks", "dkim", "dns.resolver", "kombu.transport.redis"]

FRESH_PROCESS = """
import json, os, sys
# <load application>

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
# <warm up>
from django.db import connections

after = state()
after["database_connected"] = connections["default"].connection is not None
print(json.dumps({"before": before, "after": after}))
"""


def fresh_process(load_application: str, warm_up: str, lazily: list[str]) -> dict[str, Any]:
    """`warm_up` in a new interpreter that has run `load_application`: what it had loaded
    before and after, of `lazily` and of the rest."""
    process = FRESH_PROCESS.replace("# <load application>", load_application)
    code = f"LOADED_LAZILY = {lazily!r}\n" + process.replace("# <warm up>", warm_up)
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


def fresh_worker() -> dict[str, Any]:
    """As a gunicorn worker is when its post_worker_init hook runs."""
    return fresh_process(
        "from sesconsole.wsgi import application  # what a gunicorn worker loads first",
        "from api.warmup import warm_up\nwarm_up()",
        LOADED_LAZILY,
    )


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


def test_the_smtp_servers_warm_up_loads_what_its_first_mail_loaded_without_connecting() -> None:
    states = fresh_process(
        # What `manage.py smtp_server` has loaded when its command runs.
        "import django\ndjango.setup()\nfrom django.core.management import load_command_class\n"
        "load_command_class('smtp', 'smtp_server')",
        "from sesconsole import warmup\nwarmup.load_shared()",
        LOADED_BY_FIRST_MAIL,
    )
    before, after = states["before"], states["after"]

    assert before["modules"] == dict.fromkeys(LOADED_BY_FIRST_MAIL, False)
    assert after["modules"] == dict.fromkeys(LOADED_BY_FIRST_MAIL, True)
    assert after["sockets"] == before["sockets"]
    assert after["database_connected"] is False


def test_the_smtp_server_warms_up_before_it_listens() -> None:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "smtp_server", "--port", str(port), "--tls-port", "0"],
            cwd=BASE_DIR,
            env={**os.environ, "LOG_LEVEL": "INFO"},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(
                lambda: process.poll() is not None or b"SMTP server listening on" in _read(log),
                60,
                "smtp_server to listen",
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        lines = _read(log).decode().splitlines()

    warmed = [n for n, line in enumerate(lines) if f"SMTP server pid={process.pid} warmed" in line]
    listening = [n for n, line in enumerate(lines) if "SMTP server listening on" in line]
    assert len(warmed) == 1, lines
    assert listening
    assert warmed[0] < listening[0]


def _read(file: Any) -> bytes:
    file.seek(0)
    return bytes(file.read())
