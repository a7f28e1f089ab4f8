"""Queuing by task name (sesconsole.enqueue): domain code names tasks instead of importing them."""

from __future__ import annotations

import pytest

from identities import queue
from sesconsole.enqueue import task_named
from verification import flows


@pytest.mark.parametrize("name", [*queue.TASK_NAMES, flows.SEND_VERIFICATION_EMAIL])
def test_every_queued_name_is_a_registered_task(name: str) -> None:
    assert task_named(name).name == name


def test_a_name_that_is_not_a_task_is_refused() -> None:
    with pytest.raises(LookupError) as exc_info:
        task_named("identities.queue.check_now")  # a function, not a task

    assert str(exc_info.value) == (
        "identities.queue.check_now is not a Celery task registered under that name."
    )
