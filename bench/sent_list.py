"""Benchmark: the Sent messages list with 100,000 messages in the region, each filter's page.

Prints the server time (Django test client in-process: no network hop) and query count of the
list's first page under each filter, and of a page 50,000 messages deep, next to the bare login
page measured in the same run as a baseline. The figures to compare are the ratios.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sesconsole_bench_sent .venv/bin/python bench/sent_list.py

The database is a scratch one: the bench fills it with 100,000 messages (once; a second run
reuses them). Without DATABASE_URL it uses a throwaway SQLite file.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SESCONSOLE_VAR_DIR", tempfile.mkdtemp(prefix="bench-sent-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesconsole.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from stack import console_client, vacuum_analyze_in_process  # noqa: E402

from accounts.models import Account, Region  # noqa: E402
from sending.models import SentMessage, Status  # noqa: E402

MESSAGES = 100_000
ROUNDS = 30
SENDER_DOMAINS = [f"brand{i}.example" for i in range(20)]
RECIPIENT_DOMAINS = [f"customer{i}.example" for i in range(200)]
STATUSES = [Status.DELIVERED] * 8 + [Status.KEPT, Status.FAILED]
SETS = ["", "", "", "marketing", "receipts", "rare-set"]


def _message(i: int, now: object, rng: random.Random) -> SentMessage:
    sender = f"sender{rng.randrange(10)}@{rng.choice(SENDER_DOMAINS)}"
    recipients = [
        f"user{rng.randrange(20_000)}@{rng.choice(RECIPIENT_DOMAINS)}"
        for _ in range(rng.choice([1, 1, 1, 2, 3]))
    ]
    return SentMessage(
        account_id="999999999999", region_id="us-east-1", message_id=f"bench-{i:08d}",
        actor="bench", operation="VerificationEmail" if i % 10_000 == 1 else "SendEmail", from_header=sender, from_address=sender,
        subject=f"Message {i}", envelope_from=f"bounce@{sender.split('@')[1]}",
        recipients=recipients, recipients_text=", ".join(recipients),
        quota_recipients=len(recipients), mime=b"Subject: x\r\n\r\nhello\r\n", size=22,
        status=rng.choice(STATUSES),
        configuration_set_name="rare-set" if i % 5000 == 0 else rng.choice(SETS[:-1]),
        accepted_at=now - timedelta(seconds=(MESSAGES - i) * 26),  # 30 days, one per 26 s
    )  # fmt: skip


def prepare() -> Client:
    call_command("migrate", verbosity=0)
    account, _ = Account.objects.get_or_create(id="999999999999", defaults={"name": "bench"})
    region = Region.objects.get(code="us-east-1")
    existing = SentMessage.objects.in_scope(account, region).count()
    if existing < MESSAGES:
        rng, now = random.Random(7), timezone.now()
        for start in range(existing, MESSAGES, 5000):
            stop = min(start + 5000, MESSAGES)
            SentMessage.objects.bulk_create([_message(i, now, rng) for i in range(start, stop)])
    vacuum_analyze_in_process()  # as autovacuum keeps a live database
    return console_client(account)


def timed(client: Client, url: str) -> tuple[float, str, int]:
    """Seconds for the page, the SQL of its list query, and rows shown (a filter that finds
    nothing is not a fast filter)."""
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    listing = [
        q["sql"] for q in queries.captured_queries if 'FROM "sending_sentmessage"' in q["sql"]
    ]
    return elapsed, (listing or [""])[0], response.content.count(b"<tr>") - 1


def execution_ms(sql: str) -> float:
    """PostgreSQL's own execution time of the query (EXPLAIN ANALYZE): the database's share,
    without the page's rendering, which dominates the page time on a loaded machine."""
    if connection.vendor != "postgresql" or not sql:
        return float("nan")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        return float(cursor.fetchone()[0][0]["Execution Time"])


def measure(client: Client, url: str) -> tuple[float, float, int]:
    _, sql, rows = timed(client, url)  # warm-up
    pages = [timed(client, url)[0] for _ in range(ROUNDS)]
    queries = [execution_ms(sql) for _ in range(ROUNDS)]
    return statistics.median(pages) * 1000, statistics.median(queries), max(rows, 0)


def deep_cursor() -> str:
    """The `before` cursor of the page 50,000 messages deep."""
    row = SentMessage.objects.order_by("-accepted_at", "-id").values("accepted_at", "pk")[50_000]
    return f"{row['accepted_at'].isoformat()}|{row['pk']}".replace("+", "%2B")


FILTER_INDEXES = [
    "sent_scope_from", "sent_scope_from_domain", "sent_scope_set", "sent_scope_operation",
    "sent_recipient_keys",
]  # fmt: skip
INSERTS = 500


def insert_ms(drop_filter_indexes: bool) -> float:
    """Mean ms of one INSERT of a message (as a send stores it), with or without the filters'
    indexes; inside a transaction that is rolled back (PostgreSQL's DDL is transactional too),
    so it measures index upkeep, not the commit's fsync."""
    rng, now = random.Random(11), timezone.now()
    rows = [_message(MESSAGES + i, now, rng) for i in range(INSERTS)]
    for i, row in enumerate(rows):
        row.message_id = f"insert-{i}"
    with transaction.atomic():
        if drop_filter_indexes:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX {', '.join(FILTER_INDEXES)}")
        start = time.perf_counter()
        for row in rows:
            row.save(force_insert=True)
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed / INSERTS * 1000


def insert_costs() -> None:
    """Rounds alternate with and without the indexes, so both see the same machine."""
    withs, withouts = [], []
    for _ in range(6):
        withs.append(insert_ms(drop_filter_indexes=False))
        withouts.append(insert_ms(drop_filter_indexes=True))
    with_p50, without_p50 = statistics.median(withs), statistics.median(withouts)
    print(f"INSERT of one message, mean of {INSERTS}, p50 of 6 alternating rounds:")
    print(f"  without the filter indexes {without_p50:.3f} ms; with them {with_p50:.3f} ms")


def main() -> None:
    client = prepare()
    sample = SentMessage.objects.order_by("pk").values("from_address", "recipients")[12_345]
    sender, recipient = sample["from_address"], sample["recipients"][0]
    today = timezone.now().date()
    url = reverse("sending:list", kwargs={"region": "us-east-1"})
    pages = {
        "newest": url,
        "page 50,000 deep": f"{url}?before={deep_cursor()}",
        "from: address": f"{url}?sender={sender}",
        "from: domain": f"{url}?sender={sender.split('@')[1]}",
        "to: address": f"{url}?recipient={recipient}",
        "to: domain": f"{url}?recipient={recipient.split('@')[1]}",
        "status: failed": f"{url}?status=FAILED",
        "config set: rare": f"{url}?configuration_set=rare-set",
        "date: one day": f"{url}?since={today - timedelta(days=10)}&until={today - timedelta(days=10)}",
        "kind: verification": f"{url}?kind=verification",
    }
    base_p50, _, _ = measure(Client(), reverse("login"))
    print(f"engine: {connection.vendor}; messages in region: {MESSAGES:,}; rounds: {ROUNDS}")
    print("p50 of the whole page (and x the bare login page, same run) and of its list query's")
    print("execution in PostgreSQL (EXPLAIN ANALYZE)")
    print(f"{'page':<22}{'page ms':>9}{'x login':>9}{'query ms':>10}{'rows':>6}")
    print(f"{'login (baseline)':<22}{base_p50:>9.1f}{1.0:>9.1f}")
    for name, page in pages.items():
        p50, query, rows = measure(client, page)
        print(f"{name:<22}{p50:>9.1f}{p50 / base_p50:>9.1f}{query:>10.2f}{rows:>6}")
    if connection.vendor == "postgresql" and "sent_recipient_keys" in _index_names():
        insert_costs()


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'sending_sentmessage'")
        return {row[0] for row in cursor.fetchall()}


if __name__ == "__main__":
    main()
