"""Background jobs for identities. Thin and idempotent: reload, guard, call one function."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import actors
from sesconsole.enqueue import enqueue_after_commit, send_now

from . import dns_check, publishing, signing_zone
from .dkim import generate_key_pair
from .models import DkimKey, DkimOrigin, Identity, KeyLength

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def generate_easy_dkim_keys(*, identity_id: int) -> None:
    """Create the RSA key behind each Easy DKIM token at the requested length."""
    identity = Identity.objects.filter(pk=identity_id).first()
    if identity is None or identity.dkim_origin != DkimOrigin.AWS_SES:
        log.info("no Easy DKIM keys to generate (gone or not Easy DKIM) identity=%s", identity_id)
        return
    bits = KeyLength(identity.dkim_next_key_length).bits
    existing = {key.selector: key.key_size for key in identity.dkim_keys.all()}
    missing = [token for token in identity.dkim_tokens if existing.get(token) != bits]
    if not missing:
        return
    pairs = {token: generate_key_pair(bits) for token in missing}  # outside the transaction
    with transaction.atomic():
        identity.dkim_keys.exclude(selector__in=identity.dkim_tokens).delete()
        identity.dkim_keys.filter(selector__in=missing).delete()
        for token, pair in pairs.items():
            DkimKey.store(identity, token, pair.private_key_base64, pair.public_key_base64, bits)
        identity.record_easy_dkim_keys(identity.dkim_next_key_length)
    log.info(
        "generated Easy DKIM keys identity=%s keys=%d bits=%d", identity_id, len(missing), bits
    )
    if signing_zone.has_operator_server():
        enqueue_after_commit(publish_signing_keys, identity_id=identity_id)


@shared_task(acks_late=True)
def start_domain_identity(*, identity_id: int, then: str = "check") -> None:
    """A new domain identity's first work, in ONE message from the request that created it
    (each publish costs the request a broker round trip): its Easy DKIM keys (none for
    BYODKIM), then `then`: "publish" its records (which queues the first check), "check" its
    DNS at once, or "none" (verified without DNS). Each step is idempotent on its own."""
    generate_easy_dkim_keys.run(identity_id=identity_id)
    if then == "publish":
        publish_identity_records.run(identity_id=identity_id)
    elif then == "check":
        check_identity_now.run(identity_id=identity_id)


# Chunks queued per sweep at most (x CHUNK_SIZE identities): the next sweep takes the rest.
MAX_CHUNKS_PER_SWEEP = 200


@shared_task
def dns_sweep() -> int:
    """Beat: lease the identities whose DNS check is due and queue them in chunks."""
    queued = 0
    for _ in range(MAX_CHUNKS_PER_SWEEP):
        identity_ids = dns_check.claim_due(limit=dns_check.CHUNK_SIZE)
        if not identity_ids:
            break
        if not send_now(check_identities, identity_ids=identity_ids):
            dns_check.release(identity_ids)  # broker down: the next sweep claims them again
            break
        queued += len(identity_ids)
    if queued:
        log.info("DNS sweep queued identities=%d", queued)
    requeue_lost_key_generation()
    return queued


# An Easy DKIM identity still without keys this long after it was created lost its key task
# (the broker was down when it was created): the sweep queues the task again.
KEYS_LOST_AFTER = timedelta(minutes=1)
KEY_REPAIRS_PER_SWEEP = 500


def requeue_lost_key_generation() -> int:
    """Queue `generate_easy_dkim_keys` again for Easy DKIM domains that have no keys a minute
    after they were created; returns how many. The task is idempotent: one queued twice (a
    slow queue) finds the keys there and does nothing."""
    cutoff = timezone.now() - KEYS_LOST_AFTER
    lost = (
        Identity.objects.domains()
        .filter(dkim_origin=DkimOrigin.AWS_SES, dkim_current_key_length="")
        .filter(created_at__lte=cutoff)
        .values_list("pk", flat=True)[:KEY_REPAIRS_PER_SWEEP]
    )
    queued = 0
    for identity_id in lost:
        if not send_now(generate_easy_dkim_keys, identity_id=identity_id):
            break  # broker down again: the next sweep tries again
        queued += 1
    if queued:
        log.info("queued lost Easy DKIM key generation identities=%d", queued)
    return queued


# A chunk must be done before the lease taken when it was queued runs out, or a later sweep
# could lease the same identities again and two workers check them at once. So a chunk that
# waited in the queue until it could no longer finish in time (a backlog) is discarded unrun
# (Celery drops expired messages); its identities come back when their lease expires.
CHUNK_EXPIRES = dns_check.LEASE.total_seconds() - settings.CELERY_TASK_TIME_LIMIT - 2


@shared_task(acks_late=True, expires=CHUNK_EXPIRES)
def check_identities(*, identity_ids: list[int]) -> int:
    """Check a chunk leased by dns_sweep. Identities gone since are skipped; a chunk run twice
    only checks twice. A worker killed here leaves the leases to expire (dns_check.LEASE)."""
    return dns_check.run_checks(identity_ids)


@shared_task(acks_late=True)
def check_identity_now(*, identity_id: int) -> int:
    """Check now: one identity at once, unless a sweep is checking it right now."""
    if not dns_check.claim_one(identity_id):
        log.info("no check now (gone, nothing in DNS, or being checked) identity=%s", identity_id)
        return 0
    return dns_check.run_checks([identity_id])


@shared_task(acks_late=True)
def refresh_zone_soa(*, identity_ids: list[int]) -> int:
    """Queued behind a check chunk: the zone SOA of the identities the check found none for
    and whose recorded one is missing or over a day old. Run twice, the second run is a no-op."""
    return dns_check.refresh_soa(identity_ids)


@shared_task(acks_late=True)
def publish_identity_records(*, identity_id: int) -> None:
    """The wizard's "Publish DNS records" option, once the identity is committed: its records
    to the account's DNS server (never overwriting; the outcome goes to its history), then the
    first DNS check, which can now find them. Run twice, it reports "already present"."""
    identity = (
        Identity.objects.domains().select_related("account", "region").filter(pk=identity_id)
    ).first()
    if identity is None:
        log.info("nothing to publish (gone or not a domain) identity=%s", identity_id)
        return
    notes = publishing.publish_identity_records(identity, actor=actors.system("create wizard"))
    log.info("published DNS records identity=%s: %s", identity_id, " ".join(t for _, t in notes))
    if identity.next_check_at is not None:  # None: verified without DNS (DNS_AUTO_VERIFY)
        enqueue_after_commit(check_identity_now, identity_id=identity_id)


@shared_task(acks_late=True)
def publish_signing_keys(*, identity_id: int) -> None:
    """Publish an identity's Easy DKIM public keys in the operator's signing zone."""
    identity = Identity.objects.select_related("region").filter(pk=identity_id).first()
    if identity is None or identity.dkim_origin != DkimOrigin.AWS_SES:
        return
    outcome = signing_zone.publish_identity_keys(identity)
    log.info("published signing keys identity=%s: %s", identity_id, outcome)
