"""Benchmark: the DNS sweep over 10,000 pending domain identities against a local Knot.

Each identity has Easy DKIM (3 CNAMEs) and a custom MAIL FROM (MX + SPF TXT): 50,000 lookups,
all published in Knot so every identity verifies. In the same run, a bare `dns.asyncresolver`
loop resolves the same 50,000 names at the same concurrency: the sweep's ceiling.

    .venv/bin/python bench/dns_sweep.py [--identities 10000]

Uses a throwaway database (DATABASE_URL, default PostgreSQL sesconsole_bench_dns, created and
migrated here; never var/). Target: sweep wall time within 1.5x the bare loop, peak RSS < 300 MB.

The zone SOA is not on the sweep's path: with every record found, no negative answer carries
it, so each chunk queues a `refresh_zone_soa` task (to an in-memory broker here). Those tasks
are run after the sweep and timed on their own line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stack import vacuum_analyze_in_process  # noqa: E402  (imports Django only when called)

from tests.support.knot import KnotServer  # noqa: E402  (needs sys.path; imports no Django)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sesconsole_bench_dns"


def ensure_postgres_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(knot: KnotServer, database_url: str, concurrency: int) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="sesconsole.settings",
        DATABASE_URL=database_url,
        SESCONSOLE_VAR_DIR=tempfile.mkdtemp(prefix="bench-dns-var-"),
        DNS_NAMESERVERS=knot.host,
        DNS_PORT=str(knot.port),
        DNS_TIMEOUT="3",
        DNS_CONCURRENCY=str(concurrency),
        CELERY_BROKER_URL="memory://",  # the SOA follow-up tasks, read back by run_soa_follow_ups
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def create_identities(count: int) -> list[tuple[str, str]]:
    """Fresh pending identities (bulk insert); returns every (name, type) the sweep looks up."""
    from django.utils import timezone

    from accounts.models import Account, Region
    from identities import records
    from identities.models import Identity, new_dkim_token

    Account.objects.filter(id="999999999999").delete()
    account = Account.objects.create(id="999999999999", name="DNS sweep benchmark")
    region = Region.objects.get(code="us-east-1")
    now = timezone.now()
    identities = [
        Identity(
            account=account,
            region=region,
            identity_type="DOMAIN",
            name=f"d{i}.bench.example",
            dkim_status="PENDING",
            dkim_tokens=[new_dkim_token() for _ in range(3)],
            mail_from_domain=f"mail.d{i}.bench.example",
            mail_from_status="PENDING",
            mail_from_status_changed_at=now,
            next_check_at=now,
        )
        for i in range(count)
    ]
    Identity.objects.bulk_create(identities, batch_size=1000)
    # The database is kept between runs and each run deletes the previous run's 10,000
    # identities (with their 50,000 record checks and 30,000 events). Without autovacuum (off on
    # the development server) those dead rows pile up and the statistics go stale: the planner
    # then answers a chunk's 250-row primary-key lookups with bitmap scans over thousands of
    # pages, and after a few runs the sweep took 38-43 s instead of 32 s.
    vacuum_analyze_in_process()
    return [
        (r.name, r.type, r.value)
        for identity in Identity.objects.filter(account=account).select_related("region")
        for r in records.expected_records(identity)
    ]


async def bare_loop(names: list[tuple[str, str]], host: str, port: int, concurrency: int) -> int:
    import dns.asyncresolver

    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.cache = [host], port, None
    resolver.use_edns(0, 0, 1232)
    slots = asyncio.Semaphore(concurrency)

    async def one(name: str, rdtype: str) -> int:
        async with slots:
            answer = await resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
            return len(answer.response.answer)

    found = await asyncio.gather(*(one(name, rdtype) for name, rdtype in names))
    return sum(1 for n in found if n)


def sweep() -> int:
    """The task path in-process: claim a chunk, check it (resolve + judge + bulk write)."""
    from identities import dns_check

    checked = 0
    while ids := dns_check.claim_due(limit=dns_check.CHUNK_SIZE):
        checked += dns_check.run_checks(ids)
    return checked


def run_soa_follow_ups() -> tuple[int, int]:
    """Run the refresh_zone_soa tasks the sweep queued; (tasks, identities given an SOA)."""
    from identities import tasks
    from tests.support.broker import drain_published

    done = recorded = 0
    for headers, kwargs in drain_published():
        if headers["task"] == tasks.refresh_zone_soa.name:
            recorded += tasks.refresh_zone_soa.run(**kwargs)
            done += 1
    return done, recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    ensure_postgres_database(database_url)
    with KnotServer() as knot:
        setup_django(knot, database_url, args.concurrency)
        from identities.dns_publish import txt_text

        started = time.perf_counter()
        specs = create_identities(args.identities)
        knot.add_many(
            (name, rdtype, txt_text(value) if rdtype == "TXT" else value)
            for name, rdtype, value in specs
        )
        print(f"setup: {len(specs):,} records in {time.perf_counter() - started:.1f} s")
        names = [(name, rdtype) for name, rdtype, _ in specs]

        started = time.perf_counter()
        found = asyncio.run(bare_loop(names, knot.host, knot.port, args.concurrency))
        bare = time.perf_counter() - started
        print(f"bare dns.asyncresolver loop: {bare:.2f} s, {len(names) / bare:,.0f} lookups/s")

        from identities.models import Identity

        started = time.perf_counter()
        checked = sweep()
        wall = time.perf_counter() - started
        verified = Identity.objects.filter(verification_status="SUCCESS").count()
        print(
            f"sweep: {checked:,} identities, {len(names):,} lookups in {wall:.2f} s, "
            f"{len(names) / wall:,.0f} lookups/s ({verified:,} verified)"
        )
        print(f"sweep / bare: {wall / bare:.2f}x (target <= 1.5x); answers found {found:,}")

        started = time.perf_counter()
        follow_ups, with_soa = run_soa_follow_ups()
        soa_wall = time.perf_counter() - started
        print(
            f"SOA follow-up (off the sweep's path): {follow_ups} tasks, {with_soa:,} identities "
            f"given their zone SOA in {soa_wall:.2f} s"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {peak_mb:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
