"""The Celery app: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from django.conf import settings

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
