"""Benchmark: 1,000 verification mails through a real Celery worker to a local SMTP sink.

    .venv/bin/python bench/verification_mail.py [--count 1000] [--concurrency 2]

1. creates a scratch PostgreSQL database (or SQLite with --sqlite) and migrates it;
2. creates a verified domain with a verified 2048-bit Easy DKIM key, production access and a
   custom verification template whose From address is on that domain;
3. starts aiosmtpd on a loopback port (this process) and `celery -A sesconsole worker` on
   Redis 127.0.0.1:6379 db 15 (a subprocess, stopped by its PID at the end);
4. queues COUNT mails DKIM-signed, waits until the sink has them all, then COUNT unsigned
   (DKIM signing disabled on the domain), and prints mails/s for both. A sample of the signed
   mails is verified with dkimpy against the published key.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.stack import (  # noqa: E402
    drop_scratch_database,
    scratch_database,
    setup_django_and_migrate,
)

QUEUE = f"bench-{uuid.uuid4().hex[:8]}"  # private: other workers on the same Redis ignore it


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file, not PostgreSQL")
    parser.add_argument("--redis-db", type=int, default=15, help="Redis database number (broker)")
    return parser.parse_args()


class Sink:
    """Counts delivered messages; keeps the first few raw messages to verify DKIM."""

    def __init__(self) -> None:
        self.count = 0
        self.samples: list[bytes] = []
        self.done = threading.Event()
        self.expected = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(envelope.content)  # type: ignore[attr-defined]
        if self.count >= self.expected:
            self.done.set()
        return "250 OK"

    def expect(self, n: int) -> None:
        self.count, self.samples, self.expected = 0, [], n
        self.done.clear()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "sesconsole", "worker", "--loglevel", "WARNING",
        "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--hostname", f"{QUEUE}@%h", "--queues", QUEUE,
    ]  # fmt: skip
    handle = log.open("wb")
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    return process


def run_batch(sink: Sink, link_ids: list[int], label: str) -> float:
    from sending.tasks import send_verification_email

    sink.expect(len(link_ids))
    started = time.perf_counter()
    for link_id in link_ids:
        send_verification_email.apply_async(kwargs={"link_id": link_id}, queue=QUEUE)
    if not sink.done.wait(timeout=900):
        raise SystemExit(f"{label}: only {sink.count} of {len(link_ids)} mails arrived in 15 min")
    elapsed = time.perf_counter() - started
    rate = len(link_ids) / elapsed
    print(
        f"{label:>9}: {len(link_ids)} mails in {elapsed:6.2f} s = {rate:7.1f} mails/s", flush=True
    )
    return rate


def main() -> None:
    args = parse_args()
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    workdir = Path(tempfile.mkdtemp(prefix="sesconsole-bench-"))
    database_url, pg_name = scratch_database(args.sqlite, workdir)
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sesconsole.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "SESCONSOLE_VAR_DIR": str(workdir),
        "PUBLIC_BASE_URL": "http://bench.sesconsole.test",
    }
    os.environ.update(env)
    worker = None
    try:
        setup_django_and_migrate()
        domain, link_ids = setup_data(args.count)
        worker = start_worker(env, args.concurrency, workdir / "worker.log")
        wait_for_worker(workdir / "worker.log", worker)
        print(
            f"worker concurrency {args.concurrency}, database {'SQLite' if args.sqlite else 'PostgreSQL'}, broker {broker} queue {QUEUE}",
            flush=True,
        )
        signed = run_batch(sink, link_ids[: args.count], "signed")
        check_signatures(sink.samples, domain)
        from identities.models import Identity

        Identity.objects.filter(pk=domain.pk).update(dkim_signing_enabled=False)
        unsigned = run_batch(sink, link_ids[args.count :], "unsigned")
        print(f"DKIM signing costs {100 * (1 - signed / unsigned):.0f}% of the throughput")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        controller.stop()
        from django.db import connections

        connections.close_all()
        drop_scratch_database(pg_name)


def wait_for_worker(log: Path, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited: {log.read_text()[-2000:]}")
        # The worker logs at WARNING; it is ready once it answers a ping.
        from sesconsole.celery import app

        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("worker did not start in 60 s")


def setup_data(count: int):  # type: ignore[no-untyped-def]
    from accounts.models import Account, Region
    from identities import operations, provisioning
    from identities.models import Identity, KeyLength, VerificationStatus
    from identities.tasks import generate_easy_dkim_keys
    from sesconsole.celery import app
    from templates_app.models import CustomVerificationEmailTemplate
    from verification.models import VerificationLink

    app.conf.task_always_eager = True  # the key generation queued on commit runs here
    account = Account.objects.create(name="Bench")
    region = Region.objects.get(code="us-east-1")
    account.region_settings(region).grant_production_access()
    spec = provisioning.NewIdentity(
        identity_type="DOMAIN",
        name="bench.example.com",
        dkim=provisioning.EasyDkim(KeyLength.RSA_2048_BIT),
    )
    domain = operations.create_identity(account, region, spec, actor="system (bench)")
    generate_easy_dkim_keys.run(identity_id=domain.pk)
    Identity.objects.filter(pk=domain.pk).update(
        dkim_status=VerificationStatus.SUCCESS, verification_status=VerificationStatus.SUCCESS
    )
    template = CustomVerificationEmailTemplate.objects.create(
        account=account, region=region, name="Bench", from_email_address="hello@bench.example.com",
        subject="Please confirm your email address",
        content="<html><body><h1>Welcome</h1><p>One more step: verify your address.</p></body></html>",
        success_redirection_url="https://bench.example.com/ok",
        failure_redirection_url="https://bench.example.com/ko",
    )  # fmt: skip
    links = [
        VerificationLink.issue(
            account=account, region=region, email_address=f"user{n}@example.org", template=template
        ).pk
        for n in range(2 * count)
    ]
    app.conf.task_always_eager = False
    domain.refresh_from_db()
    return domain, links


def check_signatures(samples: list[bytes], domain) -> None:  # type: ignore[no-untyped-def]
    import dkim

    keys = {
        f"{key.selector}._domainkey.{domain.name}.": key.txt_value.encode()
        for key in domain.dkim_keys.all()
    }
    ok = [
        dkim.verify(raw, dnsfunc=lambda name, timeout=5: keys.get(name.decode())) for raw in samples
    ]
    print(f"  DKIM signatures verified on {sum(ok)} of {len(ok)} sampled mails")


if __name__ == "__main__":
    main()
