"""Background jobs for email verification. Thin and idempotent: reload, guard, call one function."""

from __future__ import annotations

import logging

from celery import shared_task

from . import flows

log = logging.getLogger(__name__)

# The back-off of every mail delivery (sending.tasks): 10 s, 20 s, 40 s … capped at 10 min, so
# eight retries cover about half an hour of SMTP outage.
MAX_RETRIES = 8
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 600


def retry_delay(retries: int) -> int:
    return int(min(RETRY_BASE_SECONDS * 2**retries, RETRY_MAX_SECONDS))


@shared_task(acks_late=True)
def start_identity_verification(*, identity_id: int) -> None:
    """A new email address identity: issue its link and queue its mail (once; a verified or
    deleted identity, or a second run, does nothing more than the flow's own guards allow)."""
    if flows.start_identity_verification(identity_id=identity_id) is None:
        log.info("no verification to start (gone or not pending) identity=%s", identity_id)


@shared_task(acks_late=True)
def expire_verification_requests() -> None:
    """No click within 24 h → the identity is FAILED; lost mail tasks are queued again, and
    addresses whose first mail was never requested (lost start task) get it now."""
    failed = flows.expire_unclicked()
    requeued = flows.requeue_stalled() + flows.start_lost_verifications()
    if failed or requeued:
        log.info("verification expiry identities_failed=%d mails_requeued=%d", failed, requeued)
