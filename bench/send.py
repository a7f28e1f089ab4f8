"""Benchmark sending: SES v2 SendEmail calls/s beside moto's, and DKIM-signed mail end to end.

Run: .venv/bin/python bench/send.py [--quick] [--redis-db 13]   (PostgreSQL on 127.0.0.1:5432, Redis on :6379)

1. (Re)create the database sesconsole_bench_send: the demo account with production access and
   unlimited quotas (the benchmark measures sesconsole, not the sending rate), a verified
   domain bench.example with Easy DKIM (2048-bit keys), and an access key.
2. Start gunicorn as gunicorn.conf.py runs it (the image's workers and threads), relaying to an aiosmtpd sink (a process of its own writing a
   Maildir, so the client threads here don't slow it down), and `moto_server`.
3. SendEmail calls/s, sequential and with 8 client threads, sesconsole and moto alternating in
   rounds so both see the same machine. Nothing delivers during this phase: the queued
   deliveries are dropped afterwards.
4. End to end: N messages through the API (8 threads) → 2 Celery workers (DKIM signing,
   relaying) → the sink, from the first call until the sink holds all N; beside it, before
   and after it, a bare loop signing the same messages with dkimpy and sending them with
   smtplib over one connection (the ratio uses the mean of the two), and once more with
   dkimpy's RSA step done by OpenSSL as sesconsole's workers do it. Each worker runs as
   docker-compose.yml starts one: prefork, with WORKER_CONCURRENCY's default of 4 processes
   (`--worker-concurrency` to compare).
5. Print the figures and their ratios (targets: API ≥ moto; end to end ≥ 50 % of the loop).
   Every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import dkim
from botocore.config import Config
from stack import (
    MANAGE,
    PYTHON,
    ROOT,
    cpu_seconds,
    descendants,
    free_port,
    prepare_database,
    start_gunicorn,
    start_moto,
)

sys.path.insert(0, str(ROOT))  # sending.dkim_signing, for the second bare loop (no Django)

# Both named after the Redis database (main() sets them), so runs on other Redis databases
# (another checkout on the same machine) never share a database or a broker.
DATABASE = "sesconsole_bench_send_13"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
BROKER_URL = "redis://127.0.0.1:6379/13"
ACCOUNT = "123456789012"
KEY_ID = "AKIABENCHSEND0000001"
SECRET = "bench-secret-bench-secret-bench-secret00"
DOMAIN = "bench.example"
SENDER = f"sender@{DOMAIN}"
THREADS = 8

SETUP = f"""
from accounts.models import Account, Region
from identities import operations, provisioning
from identities.models import Identity, IdentityType, KeyLength
from identities.tasks import generate_easy_dkim_keys
account = Account.objects.get(pk="{ACCOUNT}")
region = Region.objects.get(code="us-east-1")
state = account.region_settings(region)
state.grant_production_access()
state.max_24_hour_send = -1
state.max_send_rate = -1
state.save(update_fields=["max_24_hour_send", "max_send_rate"])
domain = operations.create_identity(account, region, provisioning.NewIdentity(
    identity_type=IdentityType.DOMAIN, name="{DOMAIN}",
    dkim=provisioning.EasyDkim(KeyLength.RSA_2048_BIT)), actor="system (bench)")
generate_easy_dkim_keys.run(identity_id=domain.pk)
Identity.objects.filter(pk=domain.pk).update(dkim_status="SUCCESS", verification_status="SUCCESS")
"""


class Sink:
    """`python -m aiosmtpd` on a loopback port, storing what it accepts in a Maildir."""

    def __init__(self, var_dir: str) -> None:
        self.port = free_port()
        self.maildir = Path(var_dir) / "maildir"
        self.process = start(
            [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            dict(os.environ), Path(var_dir) / "sink.log",
        )  # fmt: skip
        wait(lambda: (self.maildir / "new").is_dir() and _listening(self.port), 30, "the sink")

    @property
    def count(self) -> int:
        return len(os.listdir(self.maildir / "new"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def environment(var_dir: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": BROKER_URL,
        "SESCONSOLE_VAR_DIR": var_dir,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def sesv2(url: str) -> Any:
    return boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        # One retry, as bench/api.py: under load a round of the other server outlasts
        # gunicorn's 2 s keep-alive, and a call could go out on a connection being closed
        # (ConnectionClosedError stopped 2 of 4 runs in the tenth session).
        config=Config(
            retries={"total_max_attempts": 2, "mode": "standard"}, max_pool_connections=THREADS
        ),
    )


def send_one(client: Any, number: int) -> None:
    client.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": [f"r{number}@sink.example"]},
        Content={
            "Simple": {
                "Subject": {"Data": f"Bench {number}"},
                "Body": {"Text": {"Data": "Hello from the benchmark.\n" * 20}},
            }
        },
    )


def timed(calls: int, threads: int, client: Any) -> float:
    """Seconds for `calls` SendEmail calls over `threads` threads sharing one client."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda n: send_one(client, n), range(calls)))
    return time.perf_counter() - start


def api_rates(ours: Any, moto: Any, calls: int, rounds: int) -> list[tuple[str, int, float]]:
    rows = []
    for threads in (1, THREADS):
        totals = {"sesconsole": 0.0, "moto_server": 0.0}
        for _ in range(rounds):
            totals["sesconsole"] += timed(calls // rounds, threads, ours)
            totals["moto_server"] += timed(calls // rounds, threads, moto)
        rows += [(name, threads, calls / wall) for name, wall in totals.items()]
    return rows


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def end_to_end(
    ours: Any,
    processes: dict[str, subprocess.Popen[bytes]],
    sink: Sink,
    env: dict[str, str],
    var_dir: str,
    count: int,
    concurrency: int,
) -> tuple[float, dict[str, float]]:
    """Mails/s from the first SendEmail until the sink holds `count` more messages, and the CPU
    milliseconds per mail each part used meanwhile (`processes` and the workers with their
    children; this process's client threads; PostgreSQL and Redis are shared with whatever
    else runs on the machine, so they are left out)."""
    command = [
        PYTHON, "-m", "celery", "-A", "sesconsole", "worker", "--concurrency", str(concurrency),
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
    ]  # fmt: skip
    workers = [
        start([*command, "--hostname", f"bench{n}@%h"], env, Path(var_dir) / f"worker{n}.log")
        for n in range(2)
    ]
    try:
        wait(lambda: _workers_ready(env), 60, "the Celery workers")
        parts = {**processes, **{f"worker {n}": worker for n, worker in enumerate(workers)}}
        trees = {name: [p.pid, *descendants(p.pid)] for name, p in parts.items()}
        cpu = {name: cpu_seconds(pids) for name, pids in trees.items()}
        client = time.process_time()
        before = sink.count
        started = time.perf_counter()
        timed(count, THREADS, ours)
        wait(lambda: sink.count - before >= count, 600, "the sink to receive every message")
        rate = count / (time.perf_counter() - started)
        cpu = {name: cpu_seconds(trees[name]) - used for name, used in cpu.items()}
        cpu["client (boto3, 8 threads)"] = time.process_time() - client
        return rate, {name: 1000 * seconds / count for name, seconds in cpu.items()}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


def _workers_ready(env: dict[str, str]) -> bool:
    found = subprocess.run(
        [PYTHON, "-m", "celery", "-A", "sesconsole", "inspect", "ping", "--timeout", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return found.stdout.count("pong") >= 2


def bare_loop(port: int, count: int, openssl: bool = False) -> float:
    """The ceiling: sign `count` messages with the same key and send them over one connection.

    With `openssl`, dkimpy's RSA step is OpenSSL's, as in sesconsole's workers
    (sending.dkim_signing): the issue's target is against dkimpy alone; this second loop shows
    how much of the ratio is the faster signature. Run it last: dkimpy stays changed in this
    process."""
    code = (
        "from identities.models import Identity, DkimKey\n"
        f"i = Identity.objects.get(name='{DOMAIN}')\n"
        "k = DkimKey.objects.get(identity=i, selector=i.dkim_tokens[0])\n"
        "print('KEY', i.dkim_tokens[0], k.private_key_base64())\n"
    )
    env = {**os.environ, "DATABASE_URL": DATABASE_URL}
    out = subprocess.run([*MANAGE, "shell", "-c", code], env=env, capture_output=True, text=True)
    line = next(row for row in out.stdout.splitlines() if row.startswith("KEY "))
    _, selector, key = line.split()
    pem = f"-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\n".encode()
    if openssl:
        from sending import dkim_signing

        dkim_signing.install()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for number in range(count):
            body = "Hello from the benchmark.\n" * 20
            raw = (
                f"From: {SENDER}\r\nTo: r{number}@sink.example\r\nSubject: Bench {number}\r\n"
                f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}"
            ).encode()
            signed = dkim.sign(raw, selector.encode(), DOMAIN.encode(), pem) + raw
            smtp.sendmail(SENDER, [f"r{number}@sink.example"], signed)
    return count / (time.perf_counter() - started)


def purge_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a few calls, to check it runs")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database (broker)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=4, help="processes per Celery worker"
    )
    args = parser.parse_args()
    quick = args.quick
    global BROKER_URL, DATABASE, DATABASE_URL
    BROKER_URL = f"redis://127.0.0.1:6379/{args.redis_db}"
    DATABASE = f"sesconsole_bench_send_{args.redis_db}"
    DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    calls, rounds, mails = (40, 2, 40) if quick else (1000, 10, 1000)
    var_dir = tempfile.mkdtemp(prefix="sesconsole-bench-send-")
    sink = Sink(var_dir)
    env = environment(var_dir, sink.port)
    prepare_database(DATABASE, env, account=ACCOUNT, key_id=KEY_ID, secret=SECRET)
    subprocess.run([*MANAGE, "shell", "-c", SETUP], env=env, check=True)
    purge_broker()
    port, moto_port = free_port(), free_port()
    gunicorn = start_gunicorn(env, port, Path(var_dir) / "access.log")
    moto = start_moto(moto_port)
    try:
        ours, theirs = sesv2(f"http://127.0.0.1:{port}"), sesv2(f"http://127.0.0.1:{moto_port}")
        theirs.create_email_identity(EmailIdentity=SENDER)
        timed(10, 2, ours)  # warm both gunicorn workers
        rows = api_rates(ours, theirs, calls, rounds)
        purge_broker()
        # The loop on both sides of the end-to-end run: on a shared machine the load moves
        # between the two, and one loop figure taken after it moved the ratio by half.
        loops = [bare_loop(sink.port, mails)]
        e2e, cpu = end_to_end(
            ours, {"gunicorn": gunicorn, "sink": sink.process}, sink, env, var_dir, mails,
            args.worker_concurrency,
        )  # fmt: skip
        loops.append(bare_loop(sink.port, mails))
        openssl_loop = bare_loop(sink.port, mails, openssl=True)
    finally:
        for process in (gunicorn, moto):
            process.terminate()
            process.wait(timeout=30)
        sink.stop()
        purge_broker()
        shutil.rmtree(var_dir, ignore_errors=True)
    report(rows, e2e, loops, args.worker_concurrency, openssl_loop, cpu)


def report(
    rows: list[tuple[str, int, float]],
    e2e: float,
    loops: list[float],
    concurrency: int,
    openssl_loop: float,
    cpu: dict[str, float],
) -> None:
    print(f"\n{'SendEmail':14} {'threads':>7} {'calls/s':>9}")
    rates = {(name, threads): rate for name, threads, rate in rows}
    for name, threads, rate in rows:
        print(f"{name:14} {threads:>7} {rate:>9.1f}")
    for threads in (1, THREADS):
        ratio = rates["sesconsole", threads] / rates["moto_server", threads]
        print(f"sesconsole / moto_server, {threads} thread(s): {ratio:.0%} (target >= 100 %)")
    print(f"end to end (API -> 2 workers x {concurrency} -> sink): {e2e:.1f} mails/s")
    parts = ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())
    print(f"  CPU ms per mail: {parts}; total {sum(cpu.values()):.1f} (PostgreSQL, Redis apart)")
    loop = sum(loops) / len(loops)
    each = ", ".join(f"{rate:.1f}" for rate in loops)
    print(
        f"bare loop (dkimpy + smtplib, one connection): {loop:.1f} mails/s (before, after: {each})"
    )
    print(f"end to end / bare loop: {e2e / loop:.0%} (target >= 50 %)")
    print(
        f"bare loop with dkimpy's RSA step done by OpenSSL (as sesconsole signs): "
        f"{openssl_loop:.1f} mails/s; end to end / that loop: {e2e / openssl_loop:.0%}"
    )


if __name__ == "__main__":
    main()
