"""Benchmark the SES v2 API against the production setup: gunicorn (2 workers) + PostgreSQL.

Run: .venv/bin/python bench/api.py   (needs PostgreSQL on 127.0.0.1:5432 and Redis on :6379)

1. (Re)create the database sesconsole_bench, migrate, create the demo account and a key.
2. Start gunicorn with SESCONSOLE_BENCH=1 (routes /_bench/noop) and an access log that
   records each request's server time.
3. With boto3, sequentially and with 8 client threads: 1,000 CreateEmailIdentity; then 1,000
   GetEmailIdentity and 1,000 calls of the ceiling (the same client calling a bare view that
   returns `{}`), alternating in rounds of 100 so that both see the same machine (a figure
   measured a minute apart from its baseline moved by ±10 points); then ListEmailIdentities
   paging over 10,000 identities with PageSize 1000.
4. Print calls/s, client and server p50, and the ratio to the ceiling; stop gunicorn by PID.
"""

from __future__ import annotations

import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from stack import PYTHON, ROOT, free_port, prepare_database, start_gunicorn, vacuum_analyze

DATABASE = "sesconsole_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
BROKER_URL = "redis://127.0.0.1:6379/14"
ACCOUNT = "123456789012"
KEY_ID = "AKIABENCHMARK0000001"
SECRET = "bench-secret-bench-secret-bench-secret00"
THREADS = 8
CALLS = 1000
ROUNDS = 10  # the ceiling and GetEmailIdentity alternate in this many rounds of CALLS / ROUNDS
TOTAL_IDENTITIES = 10_000


def environment(var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        # Persistent connections, as a production deployment should run.
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": BROKER_URL,
        "SESCONSOLE_BENCH": "1",
        "SESCONSOLE_VAR_DIR": var_dir,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def bulk_identities(env: dict[str, str], count: int) -> None:
    """Top the account up to `count` identities directly in the database (fast)."""
    code = (
        "from accounts.models import Account, Region\n"
        "from identities.models import Identity\n"
        f"a = Account.objects.get(pk='{ACCOUNT}'); r = Region.objects.get(code='us-east-1')\n"
        f"missing = {count} - Identity.objects.filter(account=a, region=r).count()\n"
        "Identity.objects.bulk_create([Identity(account=a, region=r, identity_type='EMAIL_ADDRESS',"
        " name=f'bulk{i:06d}@example.com') for i in range(missing)], batch_size=2000)\n"
    )
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "shell", "-c", code], env=env, check=True)


def client(url: str, noop: bool = False) -> Any:
    ses = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    if noop:
        # The ceiling: the same client, signing and parsing, but a bare Django view.
        def to_noop(request: Any, **kwargs: Any) -> None:
            request.url = url + "/_bench/noop"

        ses.meta.events.register("before-sign.sesv2.GetAccount", to_noop)
    return ses


class AccessLog:
    """Reads the server times (microseconds) gunicorn logged since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def server_times_ms(self) -> list[float]:
        time.sleep(0.2)  # let the workers flush
        with self.path.open() as log:
            log.seek(self.offset)
            lines = log.readlines()
            self.offset = log.tell()
        return [int(line.split()[3]) / 1000 for line in lines if len(line.split()) == 4]


def run(
    calls: list[Callable[[Any], Any]], clients: list[Any], threads: int
) -> tuple[float, list[float]]:
    """Run the calls (each takes a client) on `threads` threads, one of `clients` each (built
    beforehand: building a boto3 client takes tens of milliseconds, which would otherwise count
    against whichever phase runs); return wall seconds and per-call client ms."""
    local = threading.local()
    latencies: list[float] = []
    lock = threading.Lock()
    available: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for built in clients[:threads]:
        available.put(built)

    def one(call: Callable[[Any], Any]) -> None:
        if not hasattr(local, "client"):
            local.client = available.get_nowait()
        started = time.perf_counter()
        call(local.client)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)

    started = time.perf_counter()
    if threads == 1:
        for call in calls:
            one(call)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, calls))
    return time.perf_counter() - started, latencies


@dataclass
class Phase:
    """One kind of call: wall time, client latencies and server times, over its rounds."""

    name: str
    threads: int
    calls: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    round_rates: list[float] = field(default_factory=list)

    def add(self, calls: int, wall: float, latencies: list[float], server: list[float]) -> None:
        self.round_rates.append(calls / wall)
        self.calls += calls
        self.wall += wall
        self.latencies += latencies
        self.server += server

    def row(self) -> tuple[str, int, int, float, float, float]:
        return (
            self.name,
            self.threads,
            self.calls,
            self.calls / self.wall,
            statistics.median(self.latencies),
            statistics.median(self.server),
        )


def list_all(ses: Any) -> int:
    pages, token = 0, None
    while True:
        response = ses.list_email_identities(
            PageSize=1000, **({"NextToken": token} if token else {})
        )
        pages += 1
        token = response.get("NextToken")
        if not token:
            return pages


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="sesconsole-bench-")
    env = environment(var_dir)
    prepare_database(DATABASE, env, account=ACCOUNT, key_id=KEY_ID, secret=SECRET)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    access_log = Path(var_dir) / "access.log"
    gunicorn = start_gunicorn(env, port, access_log)
    log = AccessLog(access_log)
    rows: list[tuple[str, int, int, float, float, float]] = []
    ceiling: dict[int, float] = {}
    spreads: dict[int, list[float]] = {}  # GetEmailIdentity / ceiling, round by round
    try:
        run([lambda c: c.get_account()] * 20, [client(url)], 1)  # warm both workers
        log.server_times_ms()
        for threads in (1, THREADS):
            clients = [client(url) for _ in range(threads)]
            noop_clients = [client(url, noop=True) for _ in range(threads)]
            names = [f"t{threads}-{i}.example.com" for i in range(CALLS)]
            create = Phase("CreateEmailIdentity", threads)
            creates = [lambda c, n=n: c.create_email_identity(EmailIdentity=n) for n in names]
            create.add(len(creates), *run(creates, clients, threads), log.server_times_ms())
            noop = Phase("ceiling (noop view)", threads)
            get = Phase("GetEmailIdentity", threads)
            per_round = CALLS // ROUNDS
            for start in range(0, CALLS, per_round):
                noops = [lambda c: c.get_account()] * per_round
                noop.add(per_round, *run(noops, noop_clients, threads), log.server_times_ms())
                gets = [
                    lambda c, n=n: c.get_email_identity(EmailIdentity=n)
                    for n in names[start : start + per_round]
                ]
                get.add(per_round, *run(gets, clients, threads), log.server_times_ms())
            ceiling[threads] = noop.calls / noop.wall
            rows.extend([noop.row(), create.row(), get.row()])
            spreads[threads] = [
                g / n for g, n in zip(get.round_rates, noop.round_rates, strict=True)
            ]
        bulk_identities(env, TOTAL_IDENTITIES)
        vacuum_analyze(DATABASE)
        for threads in (1, THREADS):
            listings = 3 if threads == 1 else THREADS
            wall, _ = run([list_all] * listings, [client(url) for _ in range(threads)], threads)
            server = log.server_times_ms()
            pages = len(server)
            rows.append(
                (
                    "ListEmailIdentities (1000/page)",
                    threads,
                    pages,
                    pages / wall,
                    wall / listings * 1000,
                    statistics.median(server),
                )
            )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        purge_broker()
        shutil.rmtree(var_dir, ignore_errors=True)
    report(rows, ceiling, spreads)


def purge_broker() -> None:
    """Drop the DKIM key tasks the creates queued (nobody consumes them in the benchmark)."""
    import redis

    connection = redis.Redis.from_url(BROKER_URL)
    connection.delete("celery", "_kombu.binding.celery", "_kombu.binding.celery.pidbox")


def report(
    rows: list[tuple[str, int, int, float, float, float]],
    ceiling: dict[int, float],
    spreads: dict[int, list[float]],
) -> None:
    print(
        f"\n{'operation':34} {'threads':>7} {'calls':>6} {'calls/s':>9} {'client p50':>11} {'server p50':>11} {'vs ceiling':>10}"
    )
    for name, threads, calls, rate, client_p50, server_p50 in rows:
        ratio = f"{rate / ceiling[threads]:.0%}" if not name.startswith("List") else "-"
        client_label = (
            f"{client_p50:.2f} ms" if not name.startswith("List") else f"{client_p50:.0f} ms/list"
        )
        print(
            f"{name:34} {threads:>7} {calls:>6} {rate:>9.1f} {client_label:>11} {server_p50:>8.2f} ms {ratio:>10}"
        )
    for threads, ratios in spreads.items():
        print(
            f"GetEmailIdentity vs ceiling, {threads} thread(s), round by round: median "
            f"{statistics.median(ratios):.0%}, range {min(ratios):.0%}-{max(ratios):.0%}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
