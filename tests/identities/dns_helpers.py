"""Helpers for DNS check tests against the real Knot server (tests/support/knot.py).

Bind the fixtures in a test module:

    from tests.identities import dns_helpers
    from tests.support import dns_fixtures

    knot_server = dns_fixtures.knot_server
    dns_zone = dns_fixtures.dns_zone
    knot_dns = dns_helpers.knot_dns
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import Settings

from identities import dns_check, records
from identities.dns_publish import txt_text
from identities.models import Identity, RecordCheck
from tests.support.knot import KnotServer

# The `queued_tasks` fixture of tests/conftest.py: (task name, kwargs) read back from the broker.
QueuedTasks = Callable[[], list[tuple[str, dict[str, Any]]]]


@pytest.fixture
def knot_dns(dns_zone: KnotServer, settings: Settings) -> KnotServer:
    """The session's Knot server as the nameserver every DNS check asks, and a server accounts
    may publish to: the operator settings a self-hoster with a private primary would use."""
    settings.DNS_NAMESERVERS = [dns_zone.host]
    settings.DNS_PORT = dns_zone.port
    settings.DNS_TIMEOUT = 2.0
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = [f"{dns_zone.host}/32"]
    settings.DNS_PUBLISH_ALLOWED_PORTS = [dns_zone.port]
    return dns_zone


def zone_value(record: records.DnsRecord) -> str:
    """The record's value as published in a zone (TXT without the console's quotes)."""
    return txt_text(record.value) if record.type == "TXT" else record.value


def publish_expected(server: KnotServer, identity: Identity, *, skip: tuple[str, ...] = ()) -> None:
    """Publish the identity's expected records, except those whose name is in `skip`."""
    server.add_many(
        (r.name, r.type, zone_value(r))
        for r in records.expected_records(identity)
        if r.name not in skip
    )


def expected(identity: Identity, purpose: str, index: int = 0) -> records.DnsRecord:
    return [r for r in records.expected_records(identity) if r.purpose == purpose][index]


def run_check(identity: Identity) -> dict[tuple[str, str], RecordCheck]:
    """Claim and check one identity now; its RecordCheck rows by (name, type)."""
    assert dns_check.claim_one(identity.pk)
    dns_check.run_checks([identity.pk])
    identity.refresh_from_db()
    return {(rc.name, rc.record_type): rc for rc in identity.record_checks.all()}
