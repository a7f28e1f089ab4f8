"""A real Celery worker (with beat) on Redis verifies a domain identity against a real Knot."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from identities import tasks
from identities.models import Identity
from sesconsole.celery import app as celery_app
from tests.identities import dns_helpers
from tests.identities.dns_helpers import publish_expected
from tests.support import dns_fixtures
from tests.support.celery_worker import celery_worker, wait_for
from tests.support.knot import KnotServer
from tests.support.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
sent_tasks = dns_helpers.sent_tasks  # identities created here queue nothing on the default broker


def test_worker_with_beat_verifies_domain_end_to_end(
    dns_zone: KnotServer, make_domain: Callable[..., Identity], sent_tasks: object
) -> None:
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
    assert (identity.dkim_status, identity.mail_from_status) == ("SUCCESS", "SUCCESS")
    assert identity.record_checks.filter(status="SUCCESS").count() == 5
    assert identity.check_lease_until is None
