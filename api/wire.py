"""What every SES v2 response and request has in common on the wire.

Responses are JSON with `x-amzn-RequestId`; errors add `x-amzn-ErrorType` and
`{"message": ...}`. Absent members are omitted, never null; timestamps are epoch seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii as json_string
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict

from accounts import actors
from accounts.models import AccessKey, Account, Region
from sending.operations import KeyCheck
from sesconsole.logs import current_request_id

from .errors import ApiError, bad_request
from .reads import Preloaded
from .shapes import check_text

MAX_NUMBER_DIGITS = 40


@dataclass(frozen=True)
class Call:
    """One authenticated API call: who (account, region, key) and what (body, query)."""

    account: Account
    region: Region
    access_key: AccessKey
    body: dict[str, Any] = field(default_factory=dict)
    query: QueryDict = field(default_factory=QueryDict)
    # The identity the route asked authentication to read along (`Route.preload`), if it did.
    preloaded: Preloaded | None = None
    # The key, when authentication did not read it (`Route.checks_key`): the operation checks it.
    key_check: KeyCheck | None = None

    @property
    def actor(self) -> str:
        return actors.api(self.access_key.access_key_id)


Operation = Callable[..., dict[str, Any]]


def new_request_id() -> str:
    # The same id as the request's X-Request-Id and log lines (sesconsole.middleware).
    return current_request_id() or str(uuid.uuid4())


class JsonText(str):
    """A member's value already written as JSON, which `json_response` inserts as it is.

    For the one large answer, a ListEmailIdentities page: json.dumps of 1,000 dicts took a
    fifth of the page's server time, writing each summary with an f-string a quarter of that
    (BENCHMARKS.md, "Eighth session")."""


def json_response(data: dict[str, Any], request_id: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(encode(data), status=status, content_type="application/json")
    response["x-amzn-RequestId"] = request_id
    return response


def encode(data: dict[str, Any]) -> str:
    """`data` as compact JSON, with `JsonText` members inserted as they are."""
    if not any(isinstance(value, JsonText) for value in data.values()):
        return json.dumps(data, separators=(",", ":"))
    members = (
        f"{json_string(key)}:"
        f"{value if isinstance(value, JsonText) else json.dumps(value, separators=(',', ':'))}"
        for key, value in data.items()
    )
    return "{" + ",".join(members) + "}"


def error_response(error: ApiError, request_id: str) -> HttpResponse:
    response = json_response({"message": error.message}, request_id, status=error.status)
    response["x-amzn-ErrorType"] = error.code
    return response


def epoch(moment: datetime | None) -> float | None:
    """A timestamp as SES sends it: seconds since the epoch, as a JSON number."""
    return None if moment is None else round(moment.timestamp(), 3)


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop members that are None: SES omits absent members rather than sending null."""
    return {key: value for key, value in data.items() if value is not None}


def read_json_body(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object; empty means `{}`, anything else invalid is a 400."""
    raw = request.body
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request(
            "The request body is not valid JSON. Send a JSON object such as "
            '{"EmailIdentity": "example.com"}.'
        ) from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object, not another JSON value.")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int:
    # Python refuses only past 4,300 digits; no SES member needs more than a long.
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(text)


def path_value(value: str, what: str) -> str:
    """A decoded path parameter, checked for text no database can store."""
    if not value:
        raise bad_request(f"{what} must not be empty.")
    return check_text(value, what)


def query_value(call: Call, name: str, *, required: bool = False) -> str | None:
    value = call.query.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"The query parameter {name} is required.")
        return None
    return check_text(value, name)
