"""Benchmark: the per-region identity limit check inside `operations.create_identity`.

Times whole creates (domains, PostgreSQL, broker publishes to Redis) with the check as it is
(the IdentityCount row the insert's trigger keeps) and, in alternating rounds of the same run,
with the check as it was before issue 19 (lock the account row, then COUNT(*) its identities in
the region), at 2,000 and at 9,000 identities in the region.

    .venv/bin/python bench/identity_limit.py [--redis-db 12]

It makes a throwaway PostgreSQL database and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stack import drop_scratch_database, scratch_database, vacuum_analyze_in_process

ROUNDS = 10
PER_ROUND = 50


def old_check(account: object, region: object) -> None:
    """The check before issue 19: the account's lock, then a COUNT(*) of its identities."""
    from django.conf import settings

    from identities.models import Identity
    from sesconsole.validators import LimitExceededError

    account.lock()  # type: ignore[attr-defined]
    if Identity.objects.in_scope(account, region).count() > settings.MAX_IDENTITIES_PER_REGION:  # type: ignore[arg-type]
        raise LimitExceededError("limit", code="limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-db", type=int, default=14)
    options = parser.parse_args()
    url, name = scratch_database(False, Path(tempfile.mkdtemp(prefix="bench-limit-")))
    os.environ.update(
        DATABASE_URL=url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{options.redis_db}",
        SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
        LOG_LEVEL="WARNING",
        # Room for the ~2,000 creates made past 9,000 (the checks still run in full).
        MAX_IDENTITIES_PER_REGION="20000",
        DJANGO_SETTINGS_MODULE="sesconsole.settings",
    )
    try:
        run()
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch_database(name)


def run() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import Account, Region
    from identities import operations, provisioning
    from identities.models import Identity

    call_command("migrate", verbosity=0)
    account = Account.objects.create(id="999999999999", name="bench")
    region = Region.objects.get(code="us-east-1")
    new_check = provisioning.check_identity_limit
    checks: dict[str, Callable[[object, object], None]] = {
        "IdentityCount row": new_check,
        "lock + COUNT(*)": old_check,
    }
    serial = iter(range(10**9))

    def create_round() -> float:
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            spec = provisioning.NewIdentity(
                identity_type="DOMAIN", name=f"c{next(serial)}.example.com"
            )
            operations.create_identity(account, region, spec, actor="bench")
        return (time.perf_counter() - started) / PER_ROUND * 1000

    for size in (2_000, 9_000):
        missing = size - Identity.objects.in_scope(account, region).count()
        Identity.objects.bulk_create(
            [
                Identity(
                    account=account,
                    region=region,
                    identity_type="DOMAIN",
                    name=f"b{size}-{i}.example",
                )
                for i in range(missing)
            ],
            batch_size=2000,
        )
        vacuum_analyze_in_process()
        times: dict[str, list[float]] = {label: [] for label in checks}
        create_round()  # warm up: imports, broker connection
        for _ in range(ROUNDS):
            for label, check in checks.items():
                provisioning.check_identity_limit = check  # type: ignore[assignment]
                times[label].append(create_round())
        provisioning.check_identity_limit = new_check
        medians = {label: statistics.median(values) for label, values in times.items()}
        print(
            f"{size:,} identities: create_identity, median of {ROUNDS} rounds of {PER_ROUND}: "
            + ", ".join(f"{label} {ms:.2f} ms" for label, ms in medians.items())
            + f" (ratio {medians['IdentityCount row'] / medians['lock + COUNT(*)']:.2f})"
        )


if __name__ == "__main__":
    main()
