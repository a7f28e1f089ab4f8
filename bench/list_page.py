"""Benchmark: the Verified identities list page with 10,000 identities in the region.

Prints the page's query count and server time (Django test client in-process, so the figure
is the server's own time, without a network hop), next to a baseline measured in the same
run: the same client fetching the bare login page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sesconsole_bench_list .venv/bin/python bench/list_page.py

Without DATABASE_URL it uses a throwaway SQLite file.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SESCONSOLE_VAR_DIR", tempfile.mkdtemp(prefix="bench-list-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesconsole.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from stack import console_client, vacuum_analyze_in_process  # noqa: E402

from accounts.models import Account, Region  # noqa: E402
from identities.models import Identity, IdentityType, VerificationStatus  # noqa: E402

IDENTITIES = 10_000
ROUNDS = 30
STATUSES = [VerificationStatus.PENDING, VerificationStatus.SUCCESS, VerificationStatus.FAILED]


def prepare() -> Client:
    call_command("migrate", verbosity=0)
    account, _ = Account.objects.get_or_create(id="999999999999", defaults={"name": "bench"})
    region = Region.objects.get(code="us-east-1")
    existing = Identity.objects.in_scope(account, region).count()
    if existing < IDENTITIES:
        Identity.objects.bulk_create(
            [
                Identity(
                    account=account,
                    region=region,
                    identity_type=IdentityType.DOMAIN if i % 2 else IdentityType.EMAIL_ADDRESS,
                    name=f"d{i:05d}.example.com" if i % 2 else f"user{i:05d}@example.com",
                    verification_status=STATUSES[i % 3],
                )
                for i in range(existing, IDENTITIES)
            ],
            batch_size=2000,
        )
    vacuum_analyze_in_process()  # as autovacuum keeps a live database
    return console_client(account)


def timed(client: Client, url: str) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(queries)


def measure(client: Client, url: str) -> tuple[float, float, int]:
    timed(client, url)  # warm-up
    samples = []
    queries = 0
    for _ in range(ROUNDS):
        elapsed, queries = timed(client, url)
        samples.append(elapsed)
    reset_queries()
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000, queries


def main() -> None:
    client = prepare()
    list_url = reverse("identities:list", kwargs={"region": "us-east-1"})
    pages = {
        "list page 1": list_url,
        "list filtered (text)": f"{list_url}?q=d0123",
        "list sorted by status": f"{list_url}?sort=status",
        "list last page": f"{list_url}?page=200",
    }
    base_p50, base_p95, base_queries = measure(Client(), reverse("login"))
    print(f"engine: {connection.vendor}; identities in region: {IDENTITIES:,}; rounds: {ROUNDS}")
    print(f"{'page':<24}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'x login':>9}")
    print(f"{'login (baseline)':<24}{base_p50:>9.1f}{base_p95:>9.1f}{base_queries:>9}{1.0:>9.1f}")
    for name, url in pages.items():
        p50, p95, queries = measure(client, url)
        print(f"{name:<24}{p50:>9.1f}{p95:>9.1f}{queries:>9}{p50 / base_p50:>9.1f}")


if __name__ == "__main__":
    main()
