"""The stack every fault test shares (started once for the package, stopped by PID at the end).

Settings the processes get, and why:
- DNS_SWEEP_INTERVAL=2: beat sweeps every 2 s instead of every minute, so "the next sweep"
  comes within the test's bounded waits.
- CELERY_TASK_TIME_LIMIT=8 and DNS_CHECK_LEASE_SECONDS=20: a killed worker's leases expire
  in seconds instead of minutes; a check chunk still waiting in the queue 10 s after it was
  leased is dropped unrun (identities.tasks.CHUNK_EXPIRES).
- DNS_TIMEOUT=2: an unanswered lookup fails within seconds, well inside the time limit.
- DATABASE_CONN_MAX_AGE=60: persistent connections, as in production, which a database
  restart breaks (DATABASE_CONN_HEALTH_CHECKS is on by default).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from typing import TypeVar

import pytest
from cryptography.fernet import Fernet

from tests.faults.stack import (
    ACCOUNT_ID,
    LEASE_AUDIT_SQL,
    PASSWORD,
    USERNAME,
    KeyPair,
    Stack,
    Workers,
    manage,
)
from tests.support import postgres_server, redis_server
from tests.support.celery_worker import celery_beat
from tests.support.dns_proxy import DnsProxy
from tests.support.knot import INSTALL_HINT as KNOT_HINT
from tests.support.knot import KnotServer, find_knotd, free_port
from tests.support.services import require
from tests.support.smtp_server import Collector, SmtpSink
from tests.support.web_server import web_server

DATABASE = "sesconsole"
T = TypeVar("T")


def enter_all(cleanup: ExitStack, managers: Sequence[AbstractContextManager[T]]) -> list[T]:
    """Enter the context managers concurrently; each one entered is exited by `cleanup`."""
    with ThreadPoolExecutor(max_workers=len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
    for manager, future in zip(managers, futures, strict=True):
        if future.exception() is None:
            cleanup.push(manager.__exit__)
    return [future.result() for future in futures]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require(
        postgres_server.available(),
        "PostgreSQL's initdb/pg_ctl (and a postgres OS user when running as root)",
        postgres_server.INSTALL_HINT,
    )
    require(redis_server.find_redis_server() is not None, "redis-server", redis_server.INSTALL_HINT)
    require(find_knotd() is not None, "Knot DNS (knotd)", f"Install it with: {KNOT_HINT}")
    base = tmp_path_factory.mktemp("faults")
    with ExitStack() as cleanup:
        postgres = postgres_server.PostgresServer().start()
        cleanup.callback(postgres.close)
        database_url = postgres.create_database(DATABASE)
        redis = redis_server.RedisServer().start()
        cleanup.callback(redis.close)
        knot = KnotServer().start()
        cleanup.callback(knot.close)
        dns = DnsProxy((knot.host, knot.port)).start()
        cleanup.callback(dns.close)
        smtp = SmtpSink(port=free_port(), handler=Collector())
        smtp.start()
        cleanup.callback(smtp.stop)

        web_ports = [free_port(), free_port()]
        env = {
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": redis.url(),
            "SESCONSOLE_VAR_DIR": str(base / "var"),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_ports[0]}",
            "DNS_NAMESERVERS": dns.host,
            "DNS_PORT": str(dns.port),
            "DNS_TIMEOUT": "2",
            "DNS_SWEEP_INTERVAL": "2",
            "DNS_CHECK_LEASE_SECONDS": "20",
            "CELERY_TASK_TIME_LIMIT": "8",
            "CELERY_TASK_SOFT_TIME_LIMIT": "6",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "3",
            "LOG_LEVEL": "INFO",
        }
        manage(env, "migrate", "--noinput")
        with postgres.connect(DATABASE) as connection:
            connection.execute(LEASE_AUDIT_SQL)  # type: ignore[arg-type]
        # One process for both commands: each Django start costs over a second here.
        printed = manage(
            env,
            "shell",
            "-c",
            "from django.core.management import call_command; "
            f"call_command('demo_setup', username={USERNAME!r}, password={PASSWORD!r}); "
            f"call_command('create_access_key', account={ACCOUNT_ID!r})",
        )
        key = KeyPair(
            re.search(r"AWS_ACCESS_KEY_ID=(\S+)", printed).group(1),  # type: ignore[union-attr]
            re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", printed).group(1),  # type: ignore[union-attr]
        )

        workers = Workers(redis.url(), env, base)
        cleanup.callback(workers.close)
        # Started side by side: each waits for its process to be ready.
        with ThreadPoolExecutor(max_workers=2) as pool:
            starting = pool.submit(workers.start, "a", "b")
            webs = enter_all(
                cleanup,
                [
                    web_server(env, port=port, log_path=base / f"web-{index}.log")
                    for index, port in enumerate(web_ports)
                ],
            )
            enter_all(cleanup, [celery_beat(redis.url(), env=env, log_path=base / "beat.log")])
            starting.result()
        yield Stack(
            postgres=postgres,
            database=DATABASE,
            redis=redis,
            knot=knot,
            dns=dns,
            smtp=smtp,
            webs=webs,
            workers=workers,
            key=key,
            env=env,
            beat_log=base / "beat.log",
        )
