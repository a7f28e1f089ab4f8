"""Publishing an identity's DNS records to the account's own DNS servers (RFC 2136).

The one path behind "Publish DNS records": the identity page's button (`request_publish`, then
the worker's `run_publish`) and the create wizard's option (the `publish_identity_records`
task) both end in `publish_identity_records`. Nothing here runs in a web worker: a server may
take DNS_PUBLISH_TIMEOUT per exchange, bounded overall by DNS_PUBLISH_DEADLINE. Each record
goes to the account's server whose zone is the closest enclosing zone of its name;
`dns_publish.publish` never overwrites a different existing value, it reports a conflict. The
outcome is kept in the identity's history and returned as console messages.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.utils import timezone

from accounts.models import Account

from . import records
from .dns_publish import PublishError, PublishResult, Record, choose_target, publish
from .models import DnsPublishRun, DnsServer, Identity, IdentityEvent

Note = tuple[int, str]  # (django.contrib.messages level, one sentence)


def server_for(account: Account, name: str) -> DnsServer | None:
    """The account's DNS server whose zone most closely contains `name`, or None."""
    return choose_target(name, list(account.dns_servers.all()))


def no_server_message(domain: str) -> str:
    return f"No DNS server is registered for a zone containing {domain}. Add one under DNS servers."


class PublishRateLimited(Exception):
    """The account started DNS_PUBLISH_RUNS_PER_HOUR runs within the last hour."""


# A run not done this long after it was created lost its worker or its message: it no longer
# holds the identity's place, and a worker may take it over.
RUN_STALE_AFTER = timedelta(minutes=10)


def request_publish(identity: Identity, *, actor: str) -> tuple[DnsPublishRun, bool]:
    """A publishing run for the identity: the one already waiting or running, or a new
    QUEUED one (True) for the caller to queue after commit.

    1. Lock the account row, so two requests cannot both pass the count.
    2. A run of this identity still in flight is returned as is (a double click).
    3. Refuse beyond DNS_PUBLISH_RUNS_PER_HOUR runs per account in the last hour.
    """
    now = timezone.now()
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=identity.account_id).first()
        runs = DnsPublishRun.objects.filter(account_id=identity.account_id)
        in_flight = (
            runs.filter(identity=identity, created_at__gte=now - RUN_STALE_AFTER)
            .exclude(status=DnsPublishRun.Status.DONE)
            .first()
        )
        if in_flight is not None:
            return in_flight, False
        recent = runs.filter(created_at__gte=now - timedelta(hours=1)).order_by("created_at")
        limit = settings.DNS_PUBLISH_RUNS_PER_HOUR
        if recent.count() >= limit:
            oldest = recent.values_list("created_at", flat=True)[0]
            again = oldest + timedelta(hours=1)
            raise PublishRateLimited(
                f"Your account started {limit} DNS publishing runs in the last hour, the most "
                f"allowed. Try again after {again:%H:%M} UTC."
            )
        run = DnsPublishRun.objects.create(
            identity=identity, account_id=identity.account_id, actor=actor
        )
    return run, True


def run_publish(run_id: int) -> DnsPublishRun | None:
    """The worker's half: claim the run, publish, keep the outcome on the run. None if the
    run is gone or another worker has it (a redelivered message)."""
    run = (
        DnsPublishRun.objects.select_related("identity__account", "identity__region")
        .filter(pk=run_id)
        .first()
    )
    if run is None or not run.claim(stale_before=timezone.now() - RUN_STALE_AFTER):
        return None
    run.finish(publish_identity_records(run.identity, actor=run.actor))
    return run


def publish_identity_records(identity: Identity, *, actor: str = "") -> list[Note]:
    """Publish the identity's required records, record the outcome as an IdentityEvent
    (kind "dns_publish") and return it as messages, in order."""
    notes = _publish(identity)
    summary = " ".join(text for _, text in notes)
    IdentityEvent.record(identity, "dns_publish", f"Publish DNS records: {summary}", actor)
    return notes


def _publish(identity: Identity) -> list[Note]:
    """1. Pick each required record's server (any record without one stops everything: a
    half-published setup cannot verify). 2. One RFC 2136 exchange per server."""
    servers = list(identity.account.dns_servers.all())
    groups: dict[int, tuple[DnsServer, list[Record]]] = {}
    for wanted in records.expected_records(identity):
        if wanted.recommended:
            continue
        server = choose_target(wanted.name, servers)
        if server is None:
            return [(messages.ERROR, no_server_message(identity.domain))]
        groups.setdefault(server.pk, (server, []))[1].append(
            Record(wanted.name, wanted.type, wanted.value)
        )
    notes: list[Note] = []
    deadline = time.time() + settings.DNS_PUBLISH_DEADLINE
    for server, group in groups.values():
        try:
            target = server.update_target()
            result = publish(target, group, timeout=settings.DNS_PUBLISH_TIMEOUT, deadline=deadline)
        except PublishError as exc:
            notes.append((messages.ERROR, str(exc)))
            continue
        notes += _result_notes(server.zone, result)
    return notes


def _result_notes(zone_name: str, result: PublishResult) -> list[Note]:
    zone = zone_name.rstrip(".") or "."
    notes: list[Note] = []
    if result.published:
        notes.append(
            (messages.SUCCESS, f"Published {len(result.published)} DNS records in {zone}.")
        )
    if result.already_present:
        notes.append(
            (messages.INFO, f"{len(result.already_present)} DNS records were already in {zone}.")
        )
    for record, existing in result.conflicts:
        notes.append(
            (
                messages.WARNING,
                f"Not published: {record.name} already has {', '.join(existing)}. It was left "
                f"unchanged; replace it with {record.rdtype} {record.value} yourself if it is "
                "not needed.",
            )
        )
    return notes
