"""The DNS sweep queues Easy DKIM key generation again when the task was lost (the broker was
down when the identity was created): for domains still without keys a minute after creation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from identities import tasks
from identities.models import Identity, KeyLength
from identities.provisioning import Byodkim
from sesconsole import validators
from tests.identities.dns_helpers import QueuedTasks
from tests.support.keys import der_base64, rsa_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY_TASK = "identities.tasks.generate_easy_dkim_keys"


def key_tasks(queued: QueuedTasks) -> list[tuple[str, dict[str, Any]]]:
    return [task for task in queued() if task[0] == KEY_TASK]


def test_dns_sweep_queues_key_generation_lost_over_a_minute_ago(
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
    queued_tasks: QueuedTasks,
    time_machine: Any,
) -> None:
    time_machine.move_to(T0, tick=False)
    lost = make_domain("lost.example.com")
    keyed = make_domain("keyed.example.com")
    keyed.record_easy_dkim_keys(KeyLength.RSA_2048_BIT)
    make_email("sender@example.com")  # an address has no DKIM keys of its own
    key = validators.parse_byodkim_private_key(der_base64(rsa_key(1024)))
    make_domain("byodkim.example.com", dkim=Byodkim(selector="sel", key=key))  # key pasted
    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    make_domain("young.example.com")  # its task may still be in the queue
    queued_tasks()

    tasks.dns_sweep.run()

    assert key_tasks(queued_tasks) == [(KEY_TASK, {"identity_id": lost.pk})]


def test_dns_sweep_with_broker_down_queues_no_key_generation(
    make_domain: Callable[..., Identity], monkeypatch: Any, time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    make_domain("lost.example.com")
    make_domain("lost2.example.com")
    time_machine.move_to(T0 + timedelta(minutes=2), tick=False)
    sent: list[int] = []
    monkeypatch.setattr(tasks, "send_now", lambda task, **kwargs: sent.append(1) and False)

    assert tasks.requeue_lost_key_generation() == 0
    assert sent == [1]  # gave up at the first failure: the next sweep tries again
