"""The Celery app: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesconsole.settings")

app = Celery("sesconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["sesconsole.maintenance"]

# Periodic jobs, each with a comment in plain words.
app.conf.beat_schedule = {
    # The embedded SQLite broker keeps delivered messages; delete those older than an hour.
    "purge-delivered-broker-messages": {
        "task": "sesconsole.maintenance.purge_delivered_broker_messages",
        "schedule": 15 * 60,
    },
    # Email identities nobody verified within 24 hours of the mail become Failed, and
    # verification mails whose task was lost are queued again.
    "expire-verification-requests": {
        "task": "verification.tasks.expire_verification_requests",
        "schedule": 5 * 60,
    },
    # Every minute (DNS_SWEEP_INTERVAL): lease the domain identities whose DNS check is due
    # (new, pending with back-off, verified ones daily, DNS errors after 5 minutes) and queue
    # them in chunks.
    "dns-sweep": {
        "task": "identities.tasks.dns_sweep",
        "schedule": settings.DNS_SWEEP_INTERVAL,
    },
    # Every minute (SENDING_SWEEP_INTERVAL): deliveries whose task was lost (broker down when the message was accepted,
    # a worker killed mid-delivery, retries used up while the relay was down) are queued
    # again, and sending-quota counters older than a day are deleted.
    "sweep-sent-messages": {
        "task": "sending.tasks.sweep_sent_messages",
        "schedule": settings.SENDING_SWEEP_INTERVAL,
    },
}


@task_prerun.connect
@task_postrun.connect
def close_unusable_or_obsolete_connections(sender: Task | None = None, **_: Any) -> None:
    """Around each task, what Django does around each request: close a connection that is
    broken, older than CONN_MAX_AGE or left in a transaction, and health-check a reused one at
    its next query; keep the others (settings.CELERY_DB_REUSE_MAX). Not for a task run eagerly
    (tests, debugging): its caller's transaction is still open."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()
