"""A real Celery worker (with beat) on Redis verifies a domain identity against a real Knot."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from identities import tasks
from identities.models import Identity
from sesconsole.celery import app as celery_app
from tests.identities.dns_helpers import publish_expected
from tests.support import dns_fixtures
from tests.support.celery_worker import celery_worker, wait_for
from tests.support.knot import KnotServer
from tests.support.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone


def test_worker_with_beat_verifies_domain_end_to_end(
    dns_zone: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    # The tasks queued by creating the identity go to the test process's in-memory broker
    # (tests/conftest.py), not to this worker's Redis: the worker only runs the sweep below.
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    require(bool(redis_url), "Redis (TEST_REDIS_URL)", "Start redis-server on 127.0.0.1:6379.")
    identity = make_domain("worker.example.com", mail_from_domain="mail.worker.example.com")
    publish_expected(dns_zone, identity)
    env = {
        "DNS_NAMESERVERS": dns_zone.host,
        "DNS_PORT": str(dns_zone.port),
        "DNS_TIMEOUT": "2",
    }
    # Beat would run dns_sweep within a minute; queue one now so the test does not wait for it.
    with celery_worker(redis_url, beat=True, concurrency=2, env=env):
        with celery_app.connection_for_write(redis_url) as connection:
            tasks.dns_sweep.apply_async(connection=connection)

        def verified() -> bool:
            identity.refresh_from_db()
            return identity.verification_status == "SUCCESS"

        wait_for(verified, 90, "the worker to verify the domain")

        # Every record was found, so no negative answer carried the zone's SOA: the check
        # queued a follow-up task for it, which the same worker runs.
        def soa_recorded() -> bool:
            identity.refresh_from_db()
            return identity.soa_checked_at is not None

        wait_for(soa_recorded, 30, "the follow-up task to record the zone SOA")
    assert (identity.soa_primary_name_server, identity.soa_admin_email) == (
        "ns.test",
        "hostmaster@test",
    )
    assert (identity.dkim_status, identity.mail_from_status) == ("SUCCESS", "SUCCESS")
    assert identity.record_checks.filter(status="SUCCESS").count() == 5
    assert identity.check_lease_until is None
