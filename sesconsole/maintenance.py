"""Housekeeping jobs that belong to no app."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)

DELIVERED_MESSAGE_RETENTION = timedelta(hours=1)


@shared_task
def purge_delivered_broker_messages() -> int:
    """kombu's SQLAlchemy transport (the embedded broker) marks delivered messages invisible
    but never deletes them, so the broker file would grow for ever. Delete old ones."""
    url: str = settings.CELERY_BROKER_URL
    if not url.startswith("sqla+"):
        return 0
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.removeprefix("sqla+"))
    cutoff = (timezone.now() - DELIVERED_MESSAGE_RETENTION).replace(tzinfo=None)
    try:
        with engine.begin() as connection:
            result = connection.execute(
                sqlalchemy.text(
                    "DELETE FROM kombu_message WHERE visible = :hidden AND timestamp < :cutoff"
                ),
                {"hidden": False, "cutoff": cutoff},
            )
    finally:
        engine.dispose()
    log.info("purged %d delivered broker messages", result.rowcount)
    return result.rowcount
