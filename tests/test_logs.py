"""Log lines that follow one request (and one identity) through web and worker."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from accounts.models import Region
from sesconsole import logs
from tests.support.broker import drain_published


def record(message: str = "identity created identity=%s", *args: Any, **extra: Any) -> Any:
    made = logging.LogRecord(
        "identities.provisioning", logging.INFO, __file__, 1, message, args or (7,), None
    )
    made.__dict__.update(extra)
    return made


def test_json_formatter_writes_one_object_per_line() -> None:
    line = logs.JsonFormatter().format(record(request_id="r-1", task_id="-", account="111"))
    assert "\n" not in line
    data = json.loads(line)
    assert data["time"].endswith("+00:00")
    del data["time"]
    assert data == {
        "level": "INFO",
        "logger": "identities.provisioning",
        "message": "identity created identity=7",
        "request_id": "r-1",
        "task_id": "-",
        "account": "111",
    }


def test_json_formatter_includes_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    data = json.loads(logs.JsonFormatter().format(made))
    assert data["exception"].startswith("Traceback")
    assert data["exception"].endswith("ValueError: boom")


def test_context_filter_stamps_the_current_ids() -> None:
    token = logs.request_id_var.set("req-9")
    try:
        made = record()
        assert logs.ContextFilter().filter(made) is True
    finally:
        logs.request_id_var.reset(token)
    assert (made.request_id, made.task_id) == ("req-9", "-")


def test_plain_format_names_request_and_task() -> None:
    made = record(request_id="req-9", task_id="task-3")
    line = logging.Formatter(logs.PLAIN_FORMAT).format(made)
    assert line.endswith(
        "INFO identities.provisioning request=req-9 task=task-3 identity created identity=7"
    )


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(logs.ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def email_form() -> dict[str, Any]:
    return {
        "identity_type": "EMAIL_ADDRESS",
        "email": "sender@example.org",
        "dkim_type": "AWS_SES",
        "key_length": "RSA_2048_BIT",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
        "tag_key": [""],
        "tag_value": [""],
    }


@pytest.mark.django_db(transaction=True)
def test_a_request_log_line_and_its_queued_task_carry_the_request_id(
    owner_client: Client, region: Region, collected: Collect
) -> None:
    drain()  # nothing from earlier tests
    response = owner_client.post("/us-east-1/verified-identities/create/", email_form())
    assert response.status_code == 302
    request_id = response["X-Request-Id"]

    created = [r for r in collected.records if r.getMessage().startswith("identity created ")]
    assert [r.request_id for r in created] == [request_id]
    assert created[0].getMessage().startswith("identity created identity=")
    # The address's verification was queued after commit, inside the request: its message
    # carries the id to the worker.
    headers = [h for h in drain() if h["task"] == "verification.tasks.start_identity_verification"]
    assert [h.get(logs.REQUEST_ID_HEADER) for h in headers] == [request_id]


def drain() -> list[dict[str, Any]]:
    return [headers for headers, _kwargs in drain_published()]


def test_a_task_logs_with_its_id_and_the_request_behind_it(collected: Collect) -> None:
    task = SimpleNamespace(request=SimpleNamespace(**{logs.REQUEST_ID_HEADER: "req-5"}))
    logs.task_started(task_id="task-1", task=task)
    logging.getLogger("identities.tasks").info("generated Easy DKIM keys identity=%s", 3)
    logs.task_finished(task_id="task-1")
    logging.getLogger("identities.tasks").info("after")
    assert [(r.request_id, r.task_id) for r in collected.records] == [
        ("req-5", "task-1"),
        ("-", "-"),
    ]


def test_an_eager_task_keeps_the_request_id() -> None:
    token = logs.request_id_var.set("req-7")
    try:
        logs.task_started(task_id="task-2", task=SimpleNamespace(request=SimpleNamespace()))
        assert (logs.request_id_var.get(), logs.task_id_var.get()) == ("req-7", "task-2")
        logs.task_finished(task_id="task-2")
        assert (logs.request_id_var.get(), logs.task_id_var.get()) == ("req-7", None)
    finally:
        logs.request_id_var.reset(token)


def test_publishing_outside_a_request_adds_no_header() -> None:
    headers: dict[str, Any] = {}
    logs.add_request_id_header(headers=headers)
    assert headers == {}
