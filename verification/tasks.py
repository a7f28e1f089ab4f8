"""Background jobs for email verification. Thin and idempotent: reload, guard, call one function."""

from __future__ import annotations

import logging
import smtplib

from celery import Task, shared_task
from django.utils import timezone

from . import flows, mailer
from .models import VerificationLink

log = logging.getLogger(__name__)

# 10 s, 20 s, 40 s … capped at 10 min: eight retries cover about half an hour of SMTP outage.
MAX_RETRIES = 8
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 600


def retry_delay(retries: int) -> int:
    return int(min(RETRY_BASE_SECONDS * 2**retries, RETRY_MAX_SECONDS))


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def send_verification_email(self: Task, *, link_id: int) -> None:
    """Send the mail of one link; retry transient SMTP failures, then record the outcome."""
    link = (
        VerificationLink.objects.select_related("account", "region", "template")
        .filter(pk=link_id)
        .first()
    )
    if link is None or not link.needs_sending or not link.claim_for_sending(timezone.now()):
        log.info(
            "no verification mail to send (gone, superseded, sent or being sent) link=%s",
            link_id,
        )
        return
    try:
        mailer.send(link, link.token())
    except mailer.MailRenderError as exc:
        link.mark_failed(str(exc))
        log.warning("verification mail not rendered identity=%s link=%s", link.identity_id, link_id)
        return
    except Exception as exc:
        if mailer.is_transient(exc) and self.request.retries < MAX_RETRIES:
            link.release(mailer.describe(exc))
            log.info(
                "verification mail will be retried identity=%s link=%s retry=%d: %s",
                link.identity_id,
                link_id,
                self.request.retries + 1,
                mailer.describe(exc),
            )
            raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
        link.mark_failed(mailer.describe(exc))
        log.warning(
            "verification mail failed identity=%s link=%s: %s",
            link.identity_id,
            link_id,
            mailer.describe(exc),
        )
        if not isinstance(exc, smtplib.SMTPException | OSError):
            raise  # a bug, not the mail server: let it show in the worker's log
        return
    link.mark_sent(timezone.now())
    log.info("verification mail sent identity=%s link=%s", link.identity_id, link_id)


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
