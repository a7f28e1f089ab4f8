"""Delivery jobs. Thin and idempotent: each calls one function of sending.delivery."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.utils import timezone

from sesconsole import logs
from sesconsole.enqueue import send_now
from verification.tasks import MAX_RETRIES, retry_delay

from . import delivery, outbox, quota

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def deliver_message(self: Task, *, sent_message_id: int) -> None:
    """Deliver one message; a transient relay failure retries with back-off (then the sweep)."""
    try:
        status = delivery.deliver(sent_message_id)
    except delivery.TransientFailure as exc:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
        log.info("message %s stays queued for the sweep: %s", sent_message_id, exc)
        return
    log.info("message %s delivery: %s", sent_message_id, status or "nothing to do")


@shared_task(acks_late=True)
def deliver_messages(*, items: list[list[Any]]) -> None:
    """Deliver the messages handed over together (sending.queue), each item
    [sent_message_id, request_id]: their log lines carry their own request's id.

    A message that fails transiently is retried alone, as `deliver_message`'s first retry (the
    same back-off and number of tries), so the others are never delivered twice. Redelivering
    the whole batch (a worker lost mid-way) is harmless: `delivery.deliver` skips what is done
    or claimed. An unexpected error stops the batch; its undelivered messages stay QUEUED for
    the sweep, as a lost task's do.
    """
    for sent_message_id, request_id in items:
        token = logs.request_id_var.set(request_id)
        try:
            _deliver_or_retry_alone(sent_message_id)
        finally:
            logs.request_id_var.reset(token)


def _deliver_or_retry_alone(sent_message_id: int) -> None:
    try:
        status = delivery.deliver(sent_message_id)
    except delivery.TransientFailure as exc:
        log.info("message %s retry=1: %s", sent_message_id, exc)
        retry = {"countdown": retry_delay(0), "retries": 1}
        send_now(deliver_message, options=retry, sent_message_id=sent_message_id)
        return
    log.info("message %s delivery: %s", sent_message_id, status or "nothing to do")


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def send_verification_email(self: Task, *, link_id: int) -> None:
    """Send the mail of one verification link through the outbox (sending.outbox); retry a
    transient relay failure, then record the failure on the link."""
    link = outbox.claim_verification_link(link_id, timezone.now())
    if link is None:
        log.info(
            "no verification mail to send (gone, superseded, sent or being sent) link=%s", link_id
        )
        return
    try:
        status = outbox.send_verification_mail(link, timezone.now())
    except delivery.TransientFailure as exc:
        if self.request.retries < MAX_RETRIES:
            log.info(
                "verification mail link=%s retry=%d: %s", link_id, self.request.retries + 1, exc
            )
            raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
        outbox.give_up(link, str(exc), timezone.now())
        status = "FAILED"
    log.info("verification mail identity=%s link=%s: %s", link.identity_id, link_id, status)


@shared_task(acks_late=True)
def sweep_sent_messages() -> None:
    """Queue again deliveries whose task was lost; forget usage older than a day."""
    requeued = delivery.requeue_stalled()
    forgotten = quota.forget_old_usage(timezone.now())
    if requeued or forgotten:
        log.info("sending sweep requeued=%d usage_rows_deleted=%d", requeued, forgotten)


@worker_process_shutdown.connect
@worker_shutdown.connect
def close_relay_connection(**_: object) -> None:
    """A stopping worker says QUIT to the relay instead of leaving the connection to time out."""
    delivery.relay_connection().close()
