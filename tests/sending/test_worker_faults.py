"""Real Celery workers on Redis deliver sent mail to a real relay (aiosmtpd), also when a worker
is SIGKILLed mid-delivery: the sweep (beat) queues the message again once its lease runs out,
and every copy the relay received carries the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from identities.models import Identity
from sending import tasks
from sending.models import SentMessage, Status
from sending.operations import send
from sesconsole.celery import app as celery_app
from tests.support.celery_worker import celery_worker, wait_for
from tests.support.services import require
from tests.support.smtp_server import Collector, SmtpSink, free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@dataclass
class HoldFirst(Collector):
    """Holds the first message's DATA for a while (the worker is killed meanwhile)."""

    entered: threading.Event = field(default_factory=threading.Event)
    held: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.held:
            self.held = True
            self.entered.set()
            await asyncio.sleep(8)
        return await super().handle_DATA(server, session, envelope)


def test_worker_killed_mid_delivery_delivers_with_the_same_message_id(
    verified_domain: Callable[..., Identity], production: None, outgoing: Callable[..., Any]
) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    require(bool(redis_url), "Redis (TEST_REDIS_URL)", "Start redis-server on 127.0.0.1:6379.")
    verified_domain("example.com")
    message = send(outgoing(to=["someone@elsewhere.test"]))
    sink = SmtpSink(port=free_port(), handler=HoldFirst())
    sink.start()
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "30",
        "SENDING_LEASE_SECONDS": "3",
        "SENDING_SWEEP_INTERVAL": "1",
    }
    try:
        with celery_worker(redis_url, env=env, own_process_group=True) as worker:
            with celery_app.connection_for_write(redis_url) as connection:
                tasks.deliver_message.apply_async(
                    kwargs={"sent_message_id": message.pk}, connection=connection
                )
            assert sink.handler.entered.wait(60), "the worker never reached the relay"
            os.killpg(worker.pid, signal.SIGKILL)
        assert SentMessage.objects.get(pk=message.pk).status == Status.SENDING
        with celery_worker(redis_url, beat=True, env=env):

            def delivered() -> bool:
                return SentMessage.objects.get(pk=message.pk).status == Status.DELIVERED

            wait_for(delivered, 90, "the sweep and a new worker to deliver the message")
    finally:
        sink.stop()
    expected = f"<{message.message_id}@email.amazonses.com>"
    received = sink.messages
    assert received, "the relay received nothing"
    assert {m["Message-ID"] for m in received} == {expected}
    assert SentMessage.objects.get(pk=message.pk).attempts >= 2
