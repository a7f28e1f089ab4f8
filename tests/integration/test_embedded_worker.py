"""A real Celery worker process runs the identity tasks, on the embedded broker and on Redis."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from identities import tasks
from identities.models import Identity
from sesconsole.celery import app as celery_app
from tests.support.celery_worker import celery_worker, wait_for
from tests.support.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _queue_key_generation(identity: Identity, broker_url: str) -> None:
    with celery_app.connection_for_write(broker_url) as connection:
        tasks.generate_easy_dkim_keys.apply_async(
            kwargs={"identity_id": identity.pk}, connection=connection
        )


def _assert_keys_generated_by_worker(identity: Identity, broker_url: str) -> None:
    with celery_worker(broker_url):
        _queue_key_generation(identity, broker_url)
        wait_for(lambda: identity.dkim_keys.count() == 3, 60, "three Easy DKIM keys")
    identity.refresh_from_db()
    assert identity.dkim_current_key_length == "RSA_2048_BIT"
    assert sorted(identity.dkim_keys.values_list("selector", flat=True)) == sorted(
        identity.dkim_tokens
    )
    assert set(identity.dkim_keys.values_list("key_size", flat=True)) == {2048}


def test_embedded_broker_worker_generates_easy_dkim_keys(
    make_domain: Callable[..., Identity], tmp_path: Path
) -> None:
    # The embedded broker of `make run`, on a fresh file: other tests queue messages too.
    assert settings.CELERY_BROKER_URL.startswith("sqla+sqlite:")
    identity = make_domain("embedded.example.com")
    _assert_keys_generated_by_worker(identity, f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}")


def test_redis_worker_generates_easy_dkim_keys(make_domain: Callable[..., Identity]) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    require(bool(redis_url), "Redis (TEST_REDIS_URL)", "Start redis-server on 127.0.0.1:6379.")
    identity = make_domain("redis.example.com")
    _assert_keys_generated_by_worker(identity, redis_url)
