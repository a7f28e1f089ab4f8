"""Log records that can be followed through web and worker.

Every record gets `request_id` (the web request that did the work, or queued the task) and
`task_id` (the Celery task running it), "-" when there is none. A web request's id is the
`X-Request-Id` response header (and the API's `x-amzn-RequestId`); it travels to the tasks
the request queues in a message header, so a grep for one id finds the request and every
task it caused. Identity events say `identity=<id>` in their message.

LOG_FORMAT=json switches the handler to one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)

# The message header carrying the request id to the tasks a request queues.
REQUEST_ID_HEADER = "sesconsole_request_id"

PLAIN_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s request=%(request_id)s task=%(task_id)s %(message)s"
)

# Attributes every LogRecord has; anything else came in through `extra=` and goes to JSON.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "task_id"}
)


def new_request_id() -> str:
    return str(uuid.uuid4())


def current_request_id() -> str | None:
    return request_id_var.get()


class ContextFilter(logging.Filter):
    """Stamp each record with the current request and task ids (attached to the handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        if not hasattr(record, "task_id"):
            record.task_id = task_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "task_id": getattr(record, "task_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, default=str, ensure_ascii=False)


def logging_config(*, level: str, json_format: bool) -> dict[str, Any]:
    """settings.LOGGING: one stderr handler, ids on every record, plain or JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "sesconsole.logs.ContextFilter"}},
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {"()": "sesconsole.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_format else "plain",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


# --- Celery: carry the request id into tasks, and set the task id while one runs -------------
def add_request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: a task queued during a request remembers the request's id."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


_task_tokens: dict[str, tuple[Any, Any]] = {}


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """task_prerun: log lines of the task carry its id and the id of the request behind it."""
    # An eager task (CELERY_TASK_ALWAYS_EAGER) runs inside the request and has no header.
    request_id = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None)
    request_id = request_id or request_id_var.get()
    tokens = (task_id_var.set(task_id), request_id_var.set(request_id))
    if task_id:
        _task_tokens[task_id] = tokens


def task_finished(task_id: str | None = None, **_: Any) -> None:
    """task_postrun: back to the worker's own context (eager tasks run inside a request)."""
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is not None:
        task_id_var.reset(tokens[0])
        request_id_var.reset(tokens[1])


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(add_request_id_header, weak=False, dispatch_uid=__name__)
    signals.task_prerun.connect(task_started, weak=False, dispatch_uid=__name__)
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid=__name__)
