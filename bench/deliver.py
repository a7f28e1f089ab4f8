"""Benchmark: the CPU one delivered, DKIM-signed message costs a worker, in process and through
a real Celery worker.

    .venv/bin/python bench/deliver.py [--count 500] [--redis-db 4] [--profile] [--worker]

1. creates a scratch PostgreSQL database, migrates it, and adds an account with production
   access and an unlimited quota in us-east-1 and a verified domain bench.example with Easy
   DKIM (2048-bit keys, DKIM verified), as bench/send.py's end-to-end phase has it;
2. starts an aiosmtpd sink (`aiosmtpd.handlers.Sink`) as the relay (EMAIL_HOST), a subprocess
   on a loopback port stopped by its PID at the end;
3. accepts COUNT messages with `sending.operations.send` (Simple content, one recipient, the
   same body as bench/send.py), drops their queued tasks, then calls
   `sending.delivery.deliver` on each in this process after a warm-up of 20: CPU
   (`time.process_time()`) and wall time per message, SQL statements per message (counted
   through `connection.execute_wrapper`) and the part of the CPU `dkim.sign` takes; with
   `--profile`, cProfile's top functions;
4. with `--worker`, COUNT more messages are accepted with no worker running, then one Celery
   worker (prefork, one process, as docker-compose.yml starts it but with --concurrency 1)
   delivers them: its processes' CPU (user + system, from /proc) per message, which adds
   Celery's own cost per task to the in-process figure.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.smtp import stop, wait_for_banner  # noqa: E402
from bench.stack import (  # noqa: E402
    PYTHON,
    cpu_seconds,
    descendants,
    drop_scratch_database,
    free_port,
    scratch_database,
    setup_django_and_migrate,
)

REGION = "us-east-1"
SENDER = "sender@bench.example"
WARM_UP = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--redis-db", type=int, default=4, help="Redis database (broker)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--worker", action="store_true", help="also through a Celery worker")
    return parser.parse_args()


def setup_data() -> None:
    """The account with production access and no quota, and bench.example with Easy DKIM."""
    from accounts.models import Account, AccountRegion, Region
    from identities import operations, provisioning
    from identities.models import Identity, IdentityType, KeyLength
    from identities.tasks import generate_easy_dkim_keys

    account, _ = Account.objects.get_or_create(id="123456789012", defaults={"name": "Bench"})
    region = Region.objects.get(code=REGION)
    AccountRegion.objects.update_or_create(
        account=account,
        region=region,
        defaults={"production_access_enabled": True, "max_send_rate": -1, "max_24_hour_send": -1},
    )
    domain = operations.create_identity(
        account,
        region,
        provisioning.NewIdentity(
            identity_type=IdentityType.DOMAIN,
            name="bench.example",
            dkim=provisioning.EasyDkim(KeyLength.RSA_2048_BIT),
        ),
        actor="system (bench)",
    )
    generate_easy_dkim_keys.run(identity_id=domain.pk)
    Identity.objects.filter(pk=domain.pk).update(
        dkim_status="SUCCESS", verification_status="SUCCESS"
    )


def accept(count: int) -> list[int]:
    """Accept `count` messages as the API does and drop their queued delivery tasks."""
    from accounts import actors
    from accounts.models import Account
    from sending.operations import Outgoing, Simple, send
    from sesconsole.celery import app
    from sesconsole.enqueue import wait_for_background_publishes

    account = Account.objects.get(id="123456789012")
    ids = [
        send(
            Outgoing(
                account=account,
                region=REGION,
                actor=actors.system("bench"),
                from_address=SENDER,
                to=[f"r{n}@sink.example"],
                simple=Simple(subject=f"Bench {n}", text="Hello from the benchmark.\n" * 20),
            )
        ).pk
        for n in range(count)
    ]
    wait_for_background_publishes()
    app.control.purge()
    return ids


def deliver_in_process(ids: list[int], profile: bool) -> None:
    """Deliver each message here; print CPU, wall time and statements per message."""
    import dkim
    from django.db import connection

    from sending import delivery

    signing = [0.0]
    sign = dkim.sign

    def timed_sign(*args: object, **kwargs: object) -> bytes:
        started = time.process_time()
        try:
            return sign(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            signing[0] += time.process_time() - started

    statements = [0]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements[0] += 1
        return execute(sql, params, many, context)

    for pk in ids[:WARM_UP]:
        delivery.deliver(pk)
    measured = ids[WARM_UP:]
    dkim.sign = timed_sign
    profiler = cProfile.Profile(time.process_time) if profile else None
    try:
        with connection.execute_wrapper(count):
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            statuses = [delivery.deliver(pk) for pk in measured]
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        dkim.sign = sign
    if set(statuses) != {"DELIVERED"}:
        raise SystemExit(f"not every message was delivered: {set(statuses)}")
    n = len(measured)
    print(
        f"in process: {n} deliveries, CPU {1000 * cpu / n:.2f} ms/message "
        f"(dkim.sign {1000 * signing[0] / n:.2f} ms), wall {1000 * wall / n:.2f} ms/message, "
        f"{statements[0] / n:.1f} statements/message",
        flush=True,
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def deliver_by_worker(count: int, env: dict[str, str], workdir: Path) -> None:
    """Deliver `count` queued messages with one Celery worker; print its CPU per message."""
    from sending import queue
    from sending.models import SentMessage, Status

    ids = accept(count)
    command = [
        PYTHON, "-m", "celery", "-A", "sesconsole", "worker", "--concurrency", "1",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (workdir / "worker.log").open("ab") as log:
        worker = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=log)
    try:
        # Ready when its pool process delivered a first message (imports and connections done).
        queue.deliver_now(ids[0])
        wait_for(lambda: _status(ids[0]) == Status.DELIVERED, "the worker's first delivery")
        pool = descendants(worker.pid)
        main_cpu, pool_cpu, wall = cpu_seconds([worker.pid]), cpu_seconds(pool), time.perf_counter()
        for pk in ids[1:]:
            queue.deliver_now(pk)
        rest = SentMessage.objects.filter(pk__in=ids[1:])
        wait_for(lambda: not rest.exclude(status=Status.DELIVERED).exists(), "the deliveries")
        main_cpu = cpu_seconds([worker.pid]) - main_cpu
        pool_cpu, wall = cpu_seconds(pool) - pool_cpu, time.perf_counter() - wall
    finally:
        stop(worker)
    n = count - 1
    print(
        f"Celery worker (prefork, 1 process): {n} deliveries, CPU "
        f"{1000 * (main_cpu + pool_cpu) / n:.2f} ms/message (main process "
        f"{1000 * main_cpu / n:.2f}, pool process {1000 * pool_cpu / n:.2f}), "
        f"wall {1000 * wall / n:.2f} ms/message (publishing included)",
        flush=True,
    )


def _status(pk: int) -> str:
    from sending.models import SentMessage

    return str(SentMessage.objects.values_list("status", flat=True).get(pk=pk))


def wait_for(predicate, what: str, timeout: float = 600) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sesconsole-bench-deliver-"))
    database_url, pg_name = scratch_database(False, workdir)
    sink_port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sesconsole.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "SESCONSOLE_VAR_DIR": str(workdir),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink_port),
        "DATABASE_CONN_MAX_AGE": "60",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sink = None
    try:
        setup_django_and_migrate()
        setup_data()
        sink = subprocess.Popen(
            [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{sink_port}",
             "-c", "aiosmtpd.handlers.Sink"],
            cwd=BASE_DIR, env=env,
        )  # fmt: skip
        wait_for_banner(sink_port, sink, "aiosmtpd sink")
        deliver_in_process(accept(args.count + WARM_UP), args.profile)
        if args.worker:
            deliver_by_worker(args.count, env, workdir)
    finally:
        from sending.delivery import relay_connection

        relay_connection().close()
        stop(sink)
        from django.db import connections

        connections.close_all()
        drop_scratch_database(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
