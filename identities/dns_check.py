"""DNS checks of domain identities (docs/design.md, flow 2): claim, resolve, judge, record.

Email address identities are checked too when they have a custom MAIL FROM domain, for its
records alone (SES moves their MAIL FROM status on the MX record; their DKIM is their domain's).

The sweep (`claim_due` + `run_checks`, called by the Celery tasks) works on chunks of a few
hundred identities. For a chunk it builds every expected record from `records.expected_records`,
resolves them all concurrently in one `resolver.resolve_all` call, judges each answer with
`diagnosis`, then resolves the diagnosis probes of the records that are absent — a second
concurrent batch, only for those, so a chunk of correct records costs exactly one lookup per
record. The verdicts go through the Identity state machine (`Identity.apply_dns_check`) and are
written in bulk.

The zone's SOA (VerificationInfo.SOARecord) stays off that path: a missing record's negative
answer carries it for free; an identity that still has none, or one older than a day
(`models.SOA_MAX_AGE`), gets it from a follow-up task (`refresh_soa`) queued behind the chunk.

Several workers may sweep at once: an identity is only checked under a lease
(`check_lease_until`) taken with a conditional UPDATE; a worker that dies leaves the lease to
expire, and the identity is claimed again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model, Prefetch, Q, prefetch_related_objects
from django.utils import timezone

from accounts import actors
from sesconsole import sql

from . import diagnosis, queue, records, replicas
from .diagnosis import Expected, Finding
from .models import (
    CheckOutcome,
    DkimKey,
    Identity,
    IdentityEvent,
    RecordCheck,
    VerificationStatus,
)
from .resolver import Answer, Query, SOARecord, find_soa, resolve_all

log = logging.getLogger(__name__)

# Identities per check task: big enough to keep ~100 lookups in flight, small enough that a
# chunk finishes well within the task time limit even when every lookup times out.
CHUNK_SIZE = 250
# Longer than a check task may run (its hard time limit), so a live worker never loses its
# lease; a dead worker's identities come back after this (settings.DNS_CHECK_LEASE_SECONDS).
LEASE = timedelta(seconds=settings.DNS_CHECK_LEASE_SECONDS)


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    record: records.DnsRecord
    finding: Finding


@dataclass
class IdentityResult:
    identity: Identity
    records: list[RecordResult]
    soa: SOARecord | None

    def outcome(self, purposes: Iterable[str]) -> tuple[str | None, str]:
        """(CheckOutcome, SES error type) over the records of `purposes`; (None, "") if none.
        One DNS error makes the whole setup inconclusive: we do not know, so nothing moves."""
        wanted = set(purposes)
        findings = [r.finding for r in self.records if r.record.purpose in wanted]
        if not findings:
            return None, ""
        if any(f.dns_error for f in findings):
            return CheckOutcome.DNS_ERROR, diagnosis.ErrorType.DNS_SERVER_ERROR.value
        wrong = [f for f in findings if not f.ok]
        if wrong:
            return CheckOutcome.MISSING, str(wrong[0].error or "")
        return CheckOutcome.FOUND, ""

    @property
    def dkim(self) -> tuple[str | None, str]:
        return self.outcome([records.Purpose.DKIM])

    @property
    def txt(self) -> tuple[str | None, str]:
        """The legacy `_amazonses` verification TXT record (v1 domains only)."""
        return self.outcome([records.Purpose.VERIFICATION])

    @property
    def mail_from(self) -> str | None:
        # SES moves the MAIL FROM status on the MX record alone; the SPF record is checked and
        # explained, but a missing SPF only hurts SPF alignment, not the MAIL FROM setup.
        return self.outcome([records.Purpose.MAIL_FROM_MX])[0]


# -- resolving -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DnsConfig:
    nameservers: tuple[str, ...]
    port: int
    timeout: float
    concurrency: int

    @classmethod
    def from_settings(cls) -> DnsConfig:
        return cls(
            tuple(settings.DNS_NAMESERVERS),
            settings.DNS_PORT,
            settings.DNS_TIMEOUT,
            settings.DNS_CONCURRENCY,
        )


def expected_for(identity: Identity, record: records.DnsRecord) -> Expected:
    return Expected(
        purpose=str(record.purpose),
        name=record.name,
        rdtype=record.type,
        value=record.value,
        domain=identity.name,
        region=identity.region_id,
        spf_domain=settings.SPF_INCLUDE_DOMAIN,
    )


async def _lookup(queries: Sequence[Query], config: DnsConfig) -> dict[Query, Answer]:
    """One concurrent batch: every distinct query once."""
    unique = list(dict.fromkeys(queries))
    answers = await resolve_all(
        unique,
        nameservers=config.nameservers,
        port=config.port,
        timeout=config.timeout,
        concurrency=config.concurrency,
    )
    return dict(zip(unique, answers, strict=True))


def zone_soa(identity: Identity, answers: Iterable[Answer]) -> SOARecord | None:
    """The identity's zone SOA from negative answers about names at or under it, if any.

    A negative answer carries the SOA of the zone holding the queried name; when that zone's
    apex is at or above the identity's name, no zone cut lies between them, so it is the zone
    holding the identity too (a delegated `_domainkey` or MAIL FROM subdomain is not).
    """
    domain = identity.name.rstrip(".").lower()
    for answer in answers:
        soa = answer.soa
        if soa is None or not _at_or_under(answer.query.name, domain):
            continue
        if _at_or_under(domain, soa.zone.rstrip(".").lower()):
            return soa
    return None


def _at_or_under(name: str, ancestor: str) -> bool:
    name = name.rstrip(".").lower()
    return not ancestor or name == ancestor or name.endswith(f".{ancestor}")


async def check_async(identities: Sequence[Identity], config: DnsConfig) -> list[IdentityResult]:
    """Resolve and judge every expected record of `identities` (no database writes).

    1. Expected records of every identity (BYODKIM keys must be prefetched by the caller).
    2. Batch 1: all of them, concurrently.
    3. Judge each answer; collect the probes of the records that are absent. Keep the zone SOA
       that the negative answers carry (`zone_soa`).
    4. Batch 2: the probes, concurrently; explain each absent record with them.
    """
    plans = [
        (identity, [(r, expected_for(identity, r)) for r in records.expected_records(identity)])
        for identity in identities
    ]
    queries = [Query(e.name, e.rdtype) for _, planned in plans for _, e in planned]
    answers = await _lookup(queries, config)
    judged = [
        [(r, e, diagnosis.judge(e, answers[Query(e.name, e.rdtype)])) for r, e in planned]
        for _, planned in plans
    ]
    probe_queries = [q for rows in judged for _, e, f in rows for q in diagnosis.probes(e, f)]
    probe_answers = await _lookup(probe_queries, config) if probe_queries else {}
    results = []
    for index, (identity, planned) in enumerate(plans):
        rows = [
            RecordResult(r, diagnosis.explain_missing(e, f, probe_answers))
            for r, e, f in judged[index]
        ]
        own = (answers[Query(e.name, e.rdtype)] for _, e in planned)
        # SES reports a zone SOA for domains only (an address's MAIL FROM is not its zone).
        soa = zone_soa(identity, own) if identity.is_domain else None
        results.append(IdentityResult(identity, rows, soa))
    return results


def check(identities: Sequence[Identity], config: DnsConfig | None = None) -> list[IdentityResult]:
    """`check_async` for synchronous callers (Celery tasks)."""
    return asyncio.run(check_async(identities, config or DnsConfig.from_settings()))


# -- claiming ------------------------------------------------------------------------------------


def _lease_token(now: datetime) -> datetime:
    # Random microseconds make the lease value this claim's own, so the rows a claim won can be
    # found again by value on databases where the UPDATE's row count is not enough.
    return now + LEASE + timedelta(microseconds=secrets.randbelow(1_000_000))


def _free(now: datetime) -> Q:
    return Q(check_lease_until__isnull=True) | Q(check_lease_until__lt=now)


def claim_due(now: datetime | None = None, limit: int = CHUNK_SIZE) -> list[int]:
    """Lease up to `limit` identities whose check is due; return their ids.

    1. Select due rows, oldest first; on PostgreSQL with FOR UPDATE SKIP LOCKED, so concurrent
       sweeps pass over each other's rows instead of waiting (SQLite serialises the whole
       transaction instead: the project opens it with BEGIN IMMEDIATE).
    2. Lease them with an UPDATE that repeats the "not leased" condition, and check the row
       count; if another claim won some rows meanwhile, keep only those carrying our lease.
    """
    now = now or timezone.now()
    token = _lease_token(now)
    with transaction.atomic():
        due = Identity.objects.due_for_dns_check(now).order_by("next_check_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        won = Identity.objects.filter(_free(now), pk__in=ids).update(check_lease_until=token)
        if won != len(ids):
            ids = list(
                Identity.objects.filter(pk__in=ids, check_lease_until=token).values_list(
                    "pk", flat=True
                )
            )
    return ids


def claim_one(identity_id: int, now: datetime | None = None) -> bool:
    """Lease one identity for "Check now", due or not; False if a sweep holds it (or DNS has
    nothing to check: `dns_checked`)."""
    now = now or timezone.now()
    return bool(
        Identity.objects.dns_checked()
        .filter(_free(now), pk=identity_id)
        .update(check_lease_until=_lease_token(now))
    )


# -- recording -----------------------------------------------------------------------------------


def load_identities(identity_ids: Sequence[int]) -> list[Identity]:
    """The identities the check looks at (`dns_checked`) with what it needs, whatever their
    number: the region (signing zone) in the same query, and the BYODKIM public keys (never
    private keys) in a second one, made only when the chunk holds BYODKIM identities (Easy
    DKIM records need no key)."""
    identities = list(
        Identity.objects.dns_checked()
        .filter(pk__in=identity_ids)
        .select_related("region")
        .order_by("pk")
    )
    public_keys = DkimKey.objects.defer("private_key_encrypted")
    prefetch_related_objects(
        [identity for identity in identities if identity.uses_byodkim],
        Prefetch("dkim_keys", queryset=public_keys),
    )
    return identities


# A result is stale when its setup changed while it was being resolved (new tokens, another
# MAIL FROM domain, a restart): writing it would undo that change.
_SETUP_FIELDS = (
    "dkim_origin",
    "dkim_tokens",
    "mail_from_domain",
    "dkim_status_changed_at",
    "verification_token",
    "legacy_txt_status_changed_at",
)


def _setup(identity: Identity) -> tuple[object, ...]:
    return tuple(getattr(identity, field) for field in _SETUP_FIELDS)


# A row as `_insert_rows` writes it: values as the database driver takes them.
_Row = tuple[Any, ...]

# The columns the sweep writes, in the order of the rows built below (`_insert_rows`).
_RECORD_CHECK_FIELDS = (
    "identity",
    "purpose",
    "name",
    "record_type",
    "status",
    "error",
    "found",
    "diagnosis",
    "hint",
    "checked_at",
)
_EVENT_FIELDS = ("identity", "at", "kind", "message", "actor")


def _record_rows(result: IdentityResult, checked_at: object) -> list[_Row]:
    """The identity's RecordCheck rows (`_RECORD_CHECK_FIELDS`); `checked_at` as the database
    takes it (`_db_time`)."""
    identity = result.identity
    rows: list[_Row] = []
    for item in result.records:
        record, finding = item.record, item.finding
        setup_status = {
            records.Purpose.DKIM: identity.dkim_status,
            records.Purpose.VERIFICATION: identity.legacy_txt_status,
        }.get(record.purpose, identity.mail_from_status)
        rows.append(
            (
                identity.pk,
                str(record.purpose),
                record.name,
                record.type,
                # A wrong record shows where its setup stands: Pending while SES keeps looking.
                VerificationStatus.SUCCESS.value if finding.ok else setup_status,
                str(finding.error or ""),
                json.dumps(list(finding.found)),  # JSONField's own encoding
                str(finding.code),
                finding.hint,
                checked_at,
            )
        )
    return rows


def _event_row(event: IdentityEvent) -> _Row:
    return (event.identity_id, _db_time(event.at), event.kind, event.message, event.actor)


def _db_time(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _insert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[_Row]) -> None:
    """Insert plain rows (values as the database takes them) into `model`'s table.

    A chunk writes about 1,250 RecordCheck rows and, on a first check, 750 events. Through
    bulk_create each row becomes a model instance whose values go through field preparation
    and, on PostgreSQL, into UNNEST arrays quoted in Python: about 60 ms of CPU per chunk,
    taken from the DNS lookups that share the process (bench/dns_sweep.py). PostgreSQL's COPY
    (psycopg 3) takes the same rows for about 8 ms; SQLite gets multi-row INSERTs.
    """
    if not rows:
        return
    table = sql.table(model)
    columns = ", ".join(sql.column(model, name) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = f"({', '.join(['%s'] * len(fields))})"
        per_statement = (connection.features.max_query_params or 999) // len(fields)
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(batch))}",  # noqa: S608
                [value for row in batch for value in row],
            )


def record_results(results: Sequence[IdentityResult], now: datetime | None = None) -> int:
    """Apply each result to its identity and write the chunk in bulk; returns how many.

    1. Lock the identities (PostgreSQL: FOR UPDATE, so a concurrent delete waits) and drop the
       results that are stale or whose identity is gone; release their leases.
    2. Move each identity through its state machine in memory (`apply_dns_check(save=False)`).
    3. The changes written grouped (`_write_changes`), the chunk's RecordCheck rows replaced,
       events inserted (both as plain rows, `_insert_rows`).
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = {
            row[0]: row[1:]
            for row in Identity.objects.select_for_update()
            .filter(pk__in=[r.identity.pk for r in results])
            .values_list("pk", *_SETUP_FIELDS)
        }
        fresh = [r for r in results if current.get(r.identity.pk) == _setup(r.identity)]
        fresh_ids = {r.identity.pk for r in fresh}
        stale = [pk for pk in current if pk not in fresh_ids]
        if stale:
            Identity.objects.filter(pk__in=stale).update(check_lease_until=None)
        events: list[IdentityEvent] = []
        rows: list[_Row] = []
        checked_at = _db_time(now)
        before = {r.identity.pk: _check_values(r.identity) for r in fresh}
        for result in fresh:
            dkim, error = result.dkim
            txt, txt_error = result.txt
            soa = result.soa
            events += result.identity.apply_dns_check(
                # A domain without DKIM records cannot verify by DKIM; a DEED replica's DKIM
                # follows its parent (replicas.follow below), not DNS.
                dkim=None if result.identity.is_replica else dkim or CheckOutcome.MISSING,
                mail_from=result.mail_from,
                txt=txt,
                # A v1 domain without DKIM reports what is wrong with its TXT record.
                error=error if dkim is not None else txt_error,
                soa=(soa.primary_name_server, soa.admin_email, soa.serial_number) if soa else None,
                now=now,
                save=False,
            )
            rows += _record_rows(result, checked_at)
        identities = [r.identity for r in fresh]
        _write_changes(identities, before)
        replicas.follow([identity.pk for identity in identities])
        # Replaced rather than upserted: a record no longer expected (new DKIM tokens, another
        # MAIL FROM domain) must lose its row, and COPY cannot upsert.
        RecordCheck.objects.filter(identity__in=identities).delete()
        _insert_rows(RecordCheck, _RECORD_CHECK_FIELDS, rows)
        _insert_rows(IdentityEvent, _EVENT_FIELDS, [_event_row(event) for event in events])
    return len(fresh)


def _check_values(identity: Identity) -> dict[str, Any]:
    return {field: getattr(identity, field) for field in Identity.CHECK_FIELDS}


def _write_changes(identities: Sequence[Identity], before: dict[int, dict[str, Any]]) -> None:
    """Save what each check changed, one UPDATE per distinct change.

    Django's bulk_update writes every field of every row through CASE expressions (~3 s per
    1,000 rows on PostgreSQL); a chunk's changes are nearly identical instead (same check time,
    same next check, same new status), so grouping rows by their change takes a few UPDATEs.
    Only changed fields are written, and the counter as `check_count + 1` where it counted on.
    """
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for identity in identities:
        old = before[identity.pk]
        changes = []
        for field, value in _check_values(identity).items():
            if field == "check_count" and value == old[field] + 1:
                changes.append((field, _INCREMENT))
            elif value != old[field]:
                changes.append((field, value))
        groups[tuple(changes)].append(identity.pk)
    for change_set, pks in groups.items():
        if change_set:
            values = {f: F(f) + 1 if v is _INCREMENT else v for f, v in change_set}
            Identity.objects.filter(pk__in=pks).update(**values)


_INCREMENT = object()  # marker: "check_count + 1" rather than a value


def run_checks(identity_ids: Sequence[int], now: datetime | None = None) -> int:
    """Check the (already claimed) identities and record the results: what the tasks call.
    Identities the check found no zone SOA for, whose recorded one is missing or old, get it
    from a `refresh_zone_soa` task queued behind this chunk (never on the check's path)."""
    now = now or timezone.now()
    identities = load_identities(identity_ids)
    if settings.DNS_AUTO_VERIFY:
        identities = auto_verify_pending(identities, now)
    if not identities:
        return 0
    results = check(identities)
    recorded = record_results(results, now)
    want_soa = [
        r.identity.pk
        for r in results
        if r.soa is None and r.identity.soa_is_due(now) and r.dkim[0] != CheckOutcome.DNS_ERROR
    ]
    if want_soa:
        queue.refresh_soa(want_soa)
    return recorded


AUTO_VERIFY_AT_CHECK_MESSAGE = (
    "Verified without a DNS check because DNS_AUTO_VERIFY is on (it was turned on while this "
    "domain was pending)."
)


def auto_verify_pending(identities: Sequence[Identity], now: datetime) -> list[Identity]:
    """DNS_AUTO_VERIFY applies to domains created before it was turned on, too: at their next
    check, pending (or failed) domains are verified without DNS, as new ones are at creation.
    Returns the identities still to check over DNS (email addresses with a MAIL FROM)."""
    rest = []
    for identity in identities:
        if identity.is_domain and identity.dkim_status != VerificationStatus.SUCCESS:
            identity.verify_without_dns(
                AUTO_VERIFY_AT_CHECK_MESSAGE, now=now, actor=actors.system("DNS_AUTO_VERIFY")
            )
        else:
            rest.append(identity)
    return rest


def refresh_soa(identity_ids: Sequence[int], now: datetime | None = None) -> int:
    """Look up and record the zone SOA of those identities whose SOA is due; how many got one.

    1. Keep the domains whose SOA is still due (a task run twice, or after a check found the
       SOA meanwhile, looks nothing up).
    2. Walk to each zone's SOA concurrently (`resolver.find_soa`, one query in most cases).
    3. Write them grouped by value: identities in one zone share an SOA, so a few UPDATEs.
       An SOA not found (DNS error) stays due and is tried again after a later check.
    """
    now = now or timezone.now()
    due = list(Identity.objects.soa_due(now).filter(pk__in=identity_ids).values_list("pk", "name"))
    if not due:
        return 0
    config = DnsConfig.from_settings()
    soas = asyncio.run(_find_soas([name for _, name in due], config))
    groups: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for (pk, _), soa in zip(due, soas, strict=True):
        if soa is not None:
            groups[(soa.primary_name_server, soa.admin_email, soa.serial_number)].append(pk)
    for (server, email, serial), pks in groups.items():
        Identity.objects.filter(pk__in=pks).update(
            soa_primary_name_server=server,
            soa_admin_email=email,
            soa_serial_number=serial,
            soa_checked_at=now,
        )
    return sum(len(pks) for pks in groups.values())


async def _find_soas(names: Sequence[str], config: DnsConfig) -> list[SOARecord | None]:
    slots = asyncio.Semaphore(config.concurrency)

    async def one(name: str) -> SOARecord | None:
        async with slots:
            return await find_soa(
                name, nameservers=config.nameservers, port=config.port, timeout=config.timeout
            )

    return list(await asyncio.gather(*(one(name) for name in names)))


def release(identity_ids: Sequence[int]) -> None:
    Identity.objects.filter(pk__in=identity_ids).update(check_lease_until=None)
