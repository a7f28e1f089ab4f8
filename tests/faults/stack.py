"""The production stack on loopback, and what the fault tests do with it.

One private PostgreSQL cluster, one private Redis, Knot (behind `DnsProxy`, which a test can
make hold its answers), an aiosmtpd server, two gunicorn web processes, two Celery workers and
one beat, all on 127.0.0.1 and all started by `tests/faults/conftest.py`. Tests reach sesconsole
only as users do (boto3 against the API, a logged-in browser session against the console) and
read the outcome straight from the private database with psycopg.

`lease_audit`: a trigger installed in the private database records every change of an
identity's DNS-check lease and every recorded check. `check_overlaps` reads it back and proves
that no identity was ever checked by two workers at once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config
from celery import Celery

from tests.support.celery_worker import BASE_DIR, celery_worker
from tests.support.dns_proxy import DnsProxy
from tests.support.knot import KnotServer
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.smtp_server import SmtpSink
from tests.support.web_server import WebServer

ACCOUNT_ID = "123456789012"  # manage.py demo_setup's account
USERNAME = "faults"
PASSWORD = "faults-password-not-secret"
REGION = "us-east-1"
SIGNING_ZONE = "dkim.amazonses.com"  # us-east-1's Easy DKIM zone (SIGNING_HOSTED_ZONE)

LEASE_AUDIT_SQL = """
CREATE TABLE lease_audit (
    id bigserial PRIMARY KEY,
    identity_id bigint NOT NULL,
    old_lease timestamptz,
    new_lease timestamptz,
    checked boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION audit_lease() RETURNS trigger AS $$
BEGIN
    IF NEW.check_lease_until IS DISTINCT FROM OLD.check_lease_until
       OR NEW.last_checked_at IS DISTINCT FROM OLD.last_checked_at THEN
        INSERT INTO lease_audit (identity_id, old_lease, new_lease, checked)
        VALUES (NEW.id, OLD.check_lease_until, NEW.check_lease_until,
                NEW.last_checked_at IS DISTINCT FROM OLD.last_checked_at);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER lease_audit AFTER UPDATE ON identities_identity
    FOR EACH ROW EXECUTE FUNCTION audit_lease();
"""


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret: str


def manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py <args>` against the stack's database; its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


class Workers:
    """The stack's Celery workers by name, each in a process group of its own (so a test can
    SIGKILL one with its pool process), each logging to its own file."""

    def __init__(self, broker_url: str, env: dict[str, str], log_dir: Path) -> None:
        self._broker_url = broker_url
        self._env = env
        self._log_dir = log_dir
        self._running: dict[str, tuple[AbstractContextManager[Any], subprocess.Popen[bytes]]] = {}

    def start(self, *names: str) -> None:
        """Start the workers concurrently; return once every one is ready."""

        def start_one(name: str) -> None:
            manager = celery_worker(
                self._broker_url,
                env=self._env,
                concurrency=1,
                log_path=self.log_path(name),
                own_process_group=True,
            )
            self._running[name] = (manager, manager.__enter__())

        _in_parallel(start_one, names)

    def stop(self, *names: str) -> None:
        """Warm shutdown by PID (running tasks finish first), concurrently."""
        _in_parallel(lambda name: self._running.pop(name)[0].__exit__(None, None, None), names)

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its pool process at once: no shutdown, no acks, no cleanup."""
        manager, process = self._running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        manager.__exit__(None, None, None)  # closes its log; nothing left to stop

    def close(self) -> None:
        self.stop(*list(self._running))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The workers stop taking tasks from the queue (Celery's remote control) while the
        block runs, then take them again: quicker than stopping and starting them."""
        try:
            self._control("cancel_consumer")
            yield
        finally:
            self._control("add_consumer")

    def _control(self, command: str) -> None:
        # An app of its own: the test process's sesconsole app publishes to memory://. Redis may
        # have been restarted since the last call, so use a fresh connection, not kombu's
        # process-wide pools (resetting those would close the sesconsole app's pool as well).
        app = Celery("faults-control", broker=self._broker_url)
        try:
            with app.connection_for_write() as connection:
                replies = getattr(app.control, command)(
                    "celery", reply=True, timeout=5, connection=connection
                )
        finally:
            app.close()
        assert len(replies) == len(self._running), f"{command}: {replies}"

    @property
    def names(self) -> list[str]:
        return list(self._running)

    def log_path(self, name: str) -> Path:
        return self._log_dir / f"worker-{name}.log"

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""


def _in_parallel(function: Callable[[str], object], names: Sequence[str]) -> None:
    with ThreadPoolExecutor(max_workers=max(len(names), 1)) as pool:
        for _ in pool.map(function, names):
            pass


@dataclass
class Stack:
    postgres: PostgresServer
    database: str
    redis: RedisServer
    knot: KnotServer
    dns: DnsProxy
    smtp: SmtpSink
    webs: list[WebServer]
    workers: Workers
    key: KeyPair
    env: dict[str, str]
    beat_log: Path

    # -- the database, read directly ----------------------------------------------------------
    def rows(self, query: str, params: Sequence[object] | dict[str, object] = ()) -> list[Any]:
        with self.postgres.connect(self.database) as connection:
            cursor = connection.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def value(self, query: str, params: Sequence[object] | dict[str, object] = ()) -> Any:
        return self.rows(query, params)[0][0]

    def identity_ids(self, names: Iterable[str]) -> dict[str, int]:
        found = self.rows(
            "SELECT name, id FROM identities_identity WHERE name = ANY(%s)", (list(names),)
        )
        return dict(found)

    # -- the API and the console, as users reach them -------------------------------------------
    def ses(self, web: int = 0) -> Any:
        """A boto3 sesv2 client of web process `web` (one per thread: make them up front)."""
        return boto3.session.Session().client(
            "sesv2",
            region_name=REGION,
            endpoint_url=self.webs[web].url,
            aws_access_key_id=self.key.access_key_id,
            aws_secret_access_key=self.key.secret,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def console(self, web: int = 0) -> Console:
        return Console.log_in(self.webs[web].url)


@dataclass
class Console:
    """A logged-in browser session against one web process (requests, with real CSRF)."""

    base: str
    session: requests.Session

    @classmethod
    def log_in(cls, base: str) -> Console:
        session = requests.Session()
        page = session.get(f"{base}/login/", timeout=10)
        response = session.post(
            f"{base}/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf_token(page.text),
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:2000]
        return cls(base, session)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def post_form(self, page_path: str, data: dict[str, Any], action: str | None = None) -> Any:
        """GET the page with the form, then POST `data` to it with the page's CSRF token."""
        page = self.get(page_path)
        assert page.status_code == 200, page.text[:2000]
        return self.session.post(
            self.base + (action or page_path),
            data={**data, "csrfmiddlewaretoken": csrf_token(page.text)},
            allow_redirects=False,
            timeout=30,
        )


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


# -- creating identities -------------------------------------------------------------------------
def create_domains(
    stack: Stack, names: Sequence[str], *, per_web_threads: int = 4
) -> dict[str, list[str]]:
    """CreateEmailIdentity for each name (1024-bit Easy DKIM: the keys are not what is tested),
    half through each web process, concurrently; the DKIM tokens by name."""
    clients = [
        (web, stack.ses(web)) for web in range(len(stack.webs)) for _ in range(per_web_threads)
    ]

    def create(batch: tuple[int, Sequence[str]]) -> dict[str, list[str]]:
        index, batch_names = batch
        _, client = clients[index]
        tokens = {}
        for name in batch_names:
            answer = client.create_email_identity(
                EmailIdentity=name, DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}
            )
            tokens[name] = answer["DkimAttributes"]["Tokens"]
        return tokens

    # Thread i talks to web process clients[i][0]; names alternate between the two webs.
    batches: list[list[str]] = [[] for _ in clients]
    by_web: dict[int, list[int]] = {}
    for index, (web, _) in enumerate(clients):
        by_web.setdefault(web, []).append(index)
    for position, name in enumerate(names):
        web_threads = by_web[position % len(stack.webs)]
        batches[web_threads[(position // len(stack.webs)) % len(web_threads)]].append(name)
    tokens: dict[str, list[str]] = {}
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        for found in pool.map(create, enumerate(batches)):
            tokens.update(found)
    return tokens


def dkim_records(tokens: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """The Easy DKIM CNAMEs SES asks for: <token>._domainkey.<domain> → <token>.<signing zone>."""
    return [
        (f"{token}._domainkey.{name}", "CNAME", f"{token}.{SIGNING_ZONE}.")
        for name, name_tokens in tokens.items()
        for token in name_tokens
    ]


# -- what the tests assert -------------------------------------------------------------------------
def status_counts(stack: Stack, ids: Iterable[int]) -> dict[str, int]:
    return dict(
        stack.rows(
            "SELECT verification_status, count(*) FROM identities_identity WHERE id = ANY(%s) "
            "GROUP BY verification_status",
            (list(ids),),
        )
    )


def status_events(stack: Stack, ids: Iterable[int]) -> dict[int, list[str]]:
    """Each identity's status history, oldest first."""
    events: dict[int, list[str]] = {}
    for identity_id, message in stack.rows(
        "SELECT identity_id, message FROM identities_identityevent "
        "WHERE identity_id = ANY(%s) AND kind = 'status' ORDER BY at, id",
        (list(ids),),
    ):
        events.setdefault(identity_id, []).append(message)
    return events


VERIFIED_EVENTS = [
    "DKIM status changed from Pending to Verified.",
    "Identity status changed from Pending to Verified.",
]


@dataclass(frozen=True)
class AuditRow:
    identity_id: int
    old_lease: datetime | None
    new_lease: datetime | None
    checked: bool
    at: datetime


def lease_history(stack: Stack, ids: Iterable[int]) -> dict[int, list[AuditRow]]:
    history: dict[int, list[AuditRow]] = {}
    for row in stack.rows(
        "SELECT identity_id, old_lease, new_lease, checked, at FROM lease_audit "
        "WHERE identity_id = ANY(%s) ORDER BY id",
        (list(ids),),
    ):
        history.setdefault(row[0], []).append(AuditRow(*row))
    return history


def check_overlaps(history: dict[int, list[AuditRow]]) -> list[str]:
    """Every way the lease history shows two checks of one identity at once; [] when none.

    Per identity, in commit order: a claim (a new lease) may only replace no lease or an
    expired one; a recorded check must come from the live lease it was claimed under (its
    UPDATE releases exactly that lease, before it expires).
    """
    problems = []
    for identity_id, rows in history.items():
        live: datetime | None = None
        for row in rows:
            if row.checked:
                if live is None or row.old_lease != live or live < row.at:
                    problems.append(
                        f"identity {identity_id}: check recorded at {row.at} under lease "
                        f"{row.old_lease}, not under the live lease {live}"
                    )
                live = row.new_lease
            elif row.new_lease is not None:
                if live is not None and live > row.at:
                    problems.append(f"identity {identity_id}: claimed while leased until {live}")
                live = row.new_lease
            else:
                live = None  # released without a result (stale result, broker down)
    return problems


def claims(history: dict[int, list[AuditRow]]) -> dict[int, int]:
    return {
        identity_id: sum(1 for row in rows if not row.checked and row.new_lease is not None)
        for identity_id, rows in history.items()
    }
