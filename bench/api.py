"""Benchmark the SES v2 API as deployed (gunicorn, 2 workers, PostgreSQL, Redis) against moto.

Run: .venv/bin/python bench/api.py [--redis-db N] [--workers N] [--threads N]
     (needs PostgreSQL on 127.0.0.1:5432 and Redis on :6379)

What users would run instead of sesconsole is moto's server, so that is the reference (issue 19's
targets). Two more references bound what any code could reach on this stack: a bare Django view
answering `{}` (the ceiling: the project's middleware and URL routing, no operation) and a bare
WSGI app answering `{}` on the same gunicorn (the floor: bench/hello_wsgi.py, no Django at all).

1. (Re)create the database sesconsole_bench, migrate, create the demo account and a key. The
   server gets the settings a deployment gets by default: only what the README's production
   section and docker-compose.yml set (database, broker, secrets), nothing tuned for the bench.
2. Start gunicorn with the deployment's gunicorn.conf.py, SESCONSOLE_BENCH=1 (routes
   /_bench/noop) and an access log that records each request's server time; a second gunicorn
   with the same configuration serving bench/hello_wsgi.py; `moto_server` on another port.
3. With boto3, sequentially and with 8 client threads, the same calls against both servers,
   alternating in rounds of 100 so that both see the same machine (a figure measured a minute
   apart from its reference moved by ±10 points): 1,000 CreateEmailIdentity for domains, 1,000
   for email addresses, then 1,000 GetEmailIdentity (with the ceiling and the floor in the same
   rounds).
4. ListEmailIdentities: sesconsole paging over 10,000 identities with PageSize 1000; moto over
   the 100 identities it can list (it answers HTTP 500 past 100, or when PageSize is sent).
5. Print calls/s, client p50, sesconsole's server p50 and the ratios; stop the servers by PID.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from stack import (
    PYTHON,
    ROOT,
    free_port,
    prepare_database,
    start_gunicorn,
    start_moto,
    vacuum_analyze,
)

PG = "postgres://postgres@127.0.0.1:5432/"
REDIS_URL = "redis://127.0.0.1:6379/{db}"
ACCOUNT = "123456789012"
KEY_ID = "AKIABENCHMARK0000001"
SECRET = "bench-secret-bench-secret-bench-secret00"
THREADS = 8
CALLS = 1000
PER_ROUND = 100  # both servers (and the ceiling) take turns in rounds of this many calls
TOTAL_IDENTITIES = 10_000
MOTO_LISTABLE = 100  # moto_server 5.2.x answers HTTP 500 once it holds more identities than this


def environment(var_dir: str, database: str, broker_url: str) -> dict[str, str]:
    """What the README's production section and docker-compose.yml set, and nothing more."""
    return {
        **os.environ,
        "DATABASE_URL": PG + database,
        "CELERY_BROKER_URL": broker_url,
        "SECRET_KEY": "bench-secret-key-bench-secret-key-bench-secret-key",
        "SESCONSOLE_BENCH": "1",
        "SESCONSOLE_VAR_DIR": var_dir,
        "DEBUG": "false",
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
    """A boto3 SES v2 client for `url`; with `noop`, its GetAccount goes to /_bench/noop (the
    ceiling: the same client, signing and parsing, but a bare Django view)."""
    ses = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        # One retry: under load a round outlasts gunicorn's 2 s keep-alive, and a call can
        # go out on a connection the server is closing (ConnectionClosedError stopped two
        # runs in the tenth session). Neither server answers anything else worth retrying.
        config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
    )
    if noop:

        def to_noop(request: Any, **kwargs: Any) -> None:
            request.url = url + "/_bench/noop"

        ses.meta.events.register("before-sign.sesv2.GetAccount", to_noop)
    return ses


def reset_moto(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST")).close()


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
    for built in clients:
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
    """One kind of call against one server: wall time, client latencies, server times."""

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

    @property
    def rate(self) -> float:
        return self.calls / self.wall

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)


# The two references GetEmailIdentity is measured against in the same rounds, each a GetAccount
# redirected to an answer of `{}`: the project's no-op view, and the bare WSGI app.
REFERENCES = ("ceiling (no-op Django view)", "floor (bare WSGI app)")


@dataclass
class Servers:
    """The targets of one thread count, each with its own prebuilt clients."""

    threads: int
    sesconsole: list[Any]
    moto: list[Any]
    references: dict[str, list[Any]]
    log: AccessLog


def alternate(
    servers: Servers,
    name: str,
    calls: Callable[[list[str]], list[Callable[[Any], Any]]],
    names: list[str],
    references: dict[str, Phase] | None = None,
) -> tuple[Phase, Phase]:
    """Run `calls(names)` against sesconsole and moto in turns of PER_ROUND (and the references'
    no-op in the same turns when given)."""
    ours = Phase(f"{name} sesconsole", servers.threads)
    theirs = Phase(f"{name} moto", servers.threads)
    for start in range(0, len(names), PER_ROUND):
        chunk = calls(names[start : start + PER_ROUND])
        for reference, phase in (references or {}).items():
            noops = [lambda c: c.get_account()] * len(chunk)
            phase.add(len(chunk), *run(noops, servers.references[reference], servers.threads), [])
        servers.log.server_times_ms()  # the ceiling's own times are not reported
        ours.add(len(chunk), *run(chunk, servers.sesconsole, servers.threads), [])
        ours.server += servers.log.server_times_ms()
        theirs.add(len(chunk), *run(chunk, servers.moto, servers.threads), [])
    return ours, theirs


def creates(names: list[str]) -> list[Callable[[Any], Any]]:
    return [lambda c, n=n: c.create_email_identity(EmailIdentity=n) for n in names]


def gets(names: list[str]) -> list[Callable[[Any], Any]]:
    return [lambda c, n=n: c.get_email_identity(EmailIdentity=n) for n in names]


def list_all(ses: Any, page_size: int | None = 1000) -> int:
    pages, token = 0, None
    while True:
        arguments: dict[str, Any] = {"PageSize": page_size} if page_size else {}
        if token:
            arguments["NextToken"] = token
        response = ses.list_email_identities(**arguments)
        pages += 1
        token = response.get("NextToken")
        if not token:
            return pages


@dataclass
class Result:
    """One row of the report: sesconsole next to moto for one operation and thread count."""

    operation: str
    threads: int
    ours: Phase
    theirs: Phase
    target: str

    def verdict(self) -> str:
        if self.target == "p50":
            return "met" if self.ours.p50 <= self.theirs.p50 else "NOT met"
        return "met" if self.ours.rate >= 2 * self.theirs.rate else "NOT met"


def measure(
    servers: Servers, results: list[Result], references: dict[int, dict[str, Phase]]
) -> None:
    threads = servers.threads
    domains = [f"t{threads}-{i}.example.com" for i in range(CALLS)]
    addresses = [f"sender{i}@t{threads}.example.org" for i in range(CALLS)]
    ours, theirs = alternate(servers, "CreateEmailIdentity (domain)", creates, domains)
    results.append(Result("CreateEmailIdentity, domains", threads, ours, theirs, "p50"))
    ours, theirs = alternate(servers, "CreateEmailIdentity (email)", creates, addresses)
    results.append(Result("CreateEmailIdentity, email addresses", threads, ours, theirs, "p50"))
    phases = references[threads] = {name: Phase(name, threads) for name in REFERENCES}
    mixed = [name for pair in zip(domains, addresses, strict=True) for name in pair][:CALLS]
    ours, theirs = alternate(servers, "GetEmailIdentity", gets, mixed, phases)
    results.append(Result("GetEmailIdentity", threads, ours, theirs, "2x rate"))


def measure_lists(env: dict[str, str], url: str, moto_url: str, log: AccessLog) -> list[str]:
    bulk_identities(env, TOTAL_IDENTITIES)
    vacuum_analyze(env["DATABASE_URL"].rsplit("/", 1)[1])
    reset_moto(moto_url)
    moto = client(moto_url)
    for i in range(MOTO_LISTABLE):
        moto.create_email_identity(EmailIdentity=f"list{i}.example.net")
    lines = []
    for threads in (1, THREADS):
        listings = 5 if threads == 1 else 2 * THREADS
        ours, theirs = (
            [client(url) for _ in range(threads)],
            [client(moto_url) for _ in range(threads)],
        )
        # One untimed listing per client first, for both servers: a new boto3 client builds
        # its parser for an operation on first use, and a gunicorn worker's first listing
        # after the bulk insert reads the rows cold (the first listing took 2 s, the next
        # ones 64-69 ms, in a throwaway run; BENCHMARKS.md, ninth session).
        for ses in ours:
            list_all(ses)
        for ses in theirs:
            list_all(ses, page_size=None)
        log.server_times_ms()  # the warm-up's pages are not counted
        wall, _ = run([list_all] * listings, ours, threads)
        server = log.server_times_ms()
        moto_wall, _ = run([lambda c: list_all(c, page_size=None)] * listings, theirs, threads)
        lines.append(
            f"ListEmailIdentities, {threads} thread(s): sesconsole {TOTAL_IDENTITIES:,} identities "
            f"at PageSize 1000 {wall / listings * 1000:.0f} ms per full listing (server p50 "
            f"{statistics.median(server):.1f} ms per page; target <= 99 ms sequential); moto "
            f"{MOTO_LISTABLE} identities {moto_wall / listings * 1000:.1f} ms per listing"
        )
    return lines


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database for the broker")
    parser.add_argument(
        "--database", default="sesconsole_bench", help="PostgreSQL database (dropped, recreated)"
    )
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: its)")
    return parser.parse_args()


def main() -> None:
    options = arguments()
    broker_url = REDIS_URL.format(db=options.redis_db)
    var_dir = tempfile.mkdtemp(prefix="sesconsole-bench-")
    env = environment(var_dir, options.database, broker_url)
    prepare_database(options.database, env, account=ACCOUNT, key_id=KEY_ID, secret=SECRET)
    port, floor_port, moto_port = free_port(), free_port(), free_port()
    url, moto_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}"
    floor_url = f"http://127.0.0.1:{floor_port}"
    access_log = Path(var_dir) / "access.log"
    tuning = {"workers": options.workers, "threads": options.threads}
    processes = [
        start_gunicorn(env, port, access_log, **tuning),
        start_gunicorn(
            env, floor_port, Path(var_dir) / "floor.log", app="bench.hello_wsgi", **tuning
        ),
        start_moto(moto_port),
    ]
    log = AccessLog(access_log)
    results: list[Result] = []
    references: dict[int, dict[str, Phase]] = {}
    try:
        run([lambda c: c.get_account()] * 20, [client(url)], 1)  # warm the workers
        run([lambda c: c.get_account()] * 20, [client(floor_url, noop=True)], 1)
        run(
            [lambda c: c.list_email_identities()] * 20, [client(moto_url)], 1
        )  # moto has no GetAccount
        log.server_times_ms()
        for threads in (1, THREADS):
            servers = Servers(
                threads,
                sesconsole=[client(url) for _ in range(threads)],
                moto=[client(moto_url) for _ in range(threads)],
                references={
                    REFERENCES[0]: [client(url, noop=True) for _ in range(threads)],
                    REFERENCES[1]: [client(floor_url, noop=True) for _ in range(threads)],
                },
                log=log,
            )
            measure(servers, results, references)
        list_lines = measure_lists(env, url, moto_url, log)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        purge_broker(broker_url)
        shutil.rmtree(var_dir, ignore_errors=True)
    report(results, references, list_lines, tuning)


def purge_broker(broker_url: str) -> None:
    """Drop the tasks the creates queued (nobody consumes them in the benchmark)."""
    import redis

    connection = redis.Redis.from_url(broker_url)
    connection.delete("celery", "_kombu.binding.celery", "_kombu.binding.celery.pidbox")


def report(
    results: list[Result],
    references: dict[int, dict[str, Phase]],
    list_lines: list[str],
    tuning: dict[str, int | None],
) -> None:
    given = ", ".join(f"{k}={v}" for k, v in tuning.items() if v is not None)
    print(f"\ngunicorn: gunicorn.conf.py{' with ' + given if given else ''}")
    print(
        f"{'operation':38} {'threads':>7} {'ours/s':>8} {'moto/s':>8} {'rate x':>7} "
        f"{'our p50':>9} {'moto p50':>9} {'server p50':>10}  target"
    )
    for r in results:
        target = "p50 <= moto's" if r.target == "p50" else ">= 2x moto's calls/s"
        print(
            f"{r.operation:38} {r.threads:>7} {r.ours.rate:>8.1f} {r.theirs.rate:>8.1f} "
            f"{r.ours.rate / r.theirs.rate:>6.2f}x {r.ours.p50:>6.2f} ms {r.theirs.p50:>6.2f} ms "
            f"{statistics.median(r.ours.server):>7.2f} ms  {target}: {r.verdict()}"
        )
    for threads, phases in references.items():
        get = next(r for r in results if r.threads == threads and r.operation.startswith("Get"))
        for name, phase in phases.items():
            ratios = [g / n for g, n in zip(get.ours.round_rates, phase.round_rates, strict=True)]
            print(
                f"{name}, {threads} thread(s): {phase.rate:.0f} calls/s, p50 {phase.p50:.2f} ms, "
                f"{phase.rate / get.theirs.rate:.2f}x moto; GetEmailIdentity reaches "
                f"{get.ours.rate / phase.rate:.0%} of it (rounds: median "
                f"{statistics.median(ratios):.0%}, range {min(ratios):.0%}-{max(ratios):.0%})"
            )
    for line in list_lines:
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
