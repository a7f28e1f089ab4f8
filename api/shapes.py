"""Check a request body against botocore's SESv2 model before any operation reads it.

Clients validate required members and string minimums only, never enums, patterns or types
(docs/design.md, "The API on the wire"), and hand-written clients validate nothing. So every
body is walked against the operation's input shape here: unknown members, wrong JSON types,
enum values, lengths, ranges and patterns become a BadRequestException naming the member, and
the operations can trust the types they read. Strings that no database column can hold (NUL, lone surrogates)
are refused here too, so they can never reach PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from .errors import ApiError, bad_request

MAX_SHOWN_VALUE = 64


@cache
def service_model(service: str = "sesv2") -> ServiceModel:
    """botocore's model of `service` (SESv2, or the v1 `ses`), loaded once per process (it is
    read-only data)."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(name: str, service: str = "sesv2") -> OperationModel:
    return service_model(service).operation_model(name)


def body_member_names(operation: str) -> list[str]:
    shape = operation_model(operation).input_shape
    if shape is None:
        return []
    return [name for name, member in shape.members.items() if not _in_uri_or_query(member)]


def validate_body(
    operation: str, body: dict[str, Any], *, top_level_required: bool = True
) -> dict[str, Any]:
    """Return `body` with null members dropped, or raise BadRequestException.

    Members carried in the URI or query string are not accepted in the body.
    `top_level_required=False` lets a client leave out members the model requires (the SES
    guide says UpdateCustomVerificationEmailTemplate needs none of them).
    """
    shape = operation_model(operation).input_shape
    members = (
        {}
        if shape is None
        else {
            name: member for name, member in shape.members.items() if not _in_uri_or_query(member)
        }
    )
    required = []
    if shape is not None and top_level_required:
        required = [name for name in shape.required_members if name in members]
    return _structure(body, members, required, path="", operation=operation)


def check_text(value: str, what: str) -> str:
    """Refuse text no database can store: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise bad_request(f"{what} contains a NUL character, which is not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(f"{what} contains invalid Unicode (an unpaired surrogate).") from None
    return value


def check_value(value: Any, shape: Shape, path: str, operation: str) -> Any:
    """One member's value checked against its shape (types, enums, lengths, ranges, patterns),
    for a dialect that decodes its own wire format (the v1 Query API, api.v1.query)."""
    return _check(value, shape, path, operation)


def _in_uri_or_query(member: Shape) -> bool:
    return member.serialization.get("location") in ("uri", "querystring", "header", "headers")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(path: str, expected: str, value: Any) -> ApiError:
    return bad_request(f"{path} must be {expected}, not {_json_type(value)}.")


def _member_path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _structure(
    value: Any,
    members: dict[str, Shape],
    required: list[str],
    *,
    path: str,
    operation: str,
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong_type(path or "The request body", "a JSON object", value)
    unknown = sorted(name for name in value if name not in members)
    if unknown:
        where = f"{path}" if path else f"{operation}'s input"
        valid = ", ".join(members) or "none"
        raise bad_request(
            f"{_shown(unknown[0])} is not a member of {where}. Valid members: {valid}."
        )
    present = {name: item for name, item in value.items() if item is not None}
    for name in required:
        if name not in present:
            raise bad_request(f"{_member_path(path, name)} is required.")
    return {
        name: _check(item, members[name], _member_path(path, name), operation)
        for name, item in present.items()
    }


def _check(value: Any, shape: Shape, path: str, operation: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        nested_required = list(shape.required_members)
        return _structure(
            value, dict(shape.members), nested_required, path=path, operation=operation
        )
    if kind == "list":
        return _list(value, shape, path, operation)
    if kind == "map":
        return _map(value, shape, path, operation)
    if kind == "string":
        return _string(value, shape, path)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type(path, "true or false", value)
        return value
    if kind in ("integer", "long"):
        return _integer(value, shape, path)
    if kind in ("double", "float", "timestamp"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            expected = "a number of seconds since the epoch" if kind == "timestamp" else "a number"
            raise _wrong_type(path, expected, value)
        return value
    if kind == "blob":
        return _blob(value, path)
    raise bad_request(f"{path} has a type this server does not accept ({kind}).")


def _blob(value: Any, path: str) -> bytes:
    """A blob travels base64-encoded in a JSON string; the operation gets the bytes."""
    if not isinstance(value, str):
        raise _wrong_type(path, "a base64-encoded string", value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{path} is not valid base64. Encode the bytes as base64.") from None


def _list(value: Any, shape: Shape, path: str, operation: str) -> list[Any]:
    if not isinstance(value, list):
        raise _wrong_type(path, "an array", value)
    check_length(len(value), shape, path, unit="items")
    return [
        _check(item, shape.member, f"{path}[{index}]", operation)
        for index, item in enumerate(value)
    ]


def _map(value: Any, shape: Shape, path: str, operation: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong_type(path, "an object", value)
    result = {}
    for key, item in value.items():
        _string(key, shape.key, f"A key of {path}")
        result[key] = _check(item, shape.value, f"{path}.{key}", operation)
    return result


def _string(value: Any, shape: Shape, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(path, "a string", value)
    check_text(value, path)
    if shape.enum:
        if value not in shape.enum:
            raise bad_request(
                f"{path} must be one of {', '.join(shape.enum)}; {_shown(value)} is not one of them."
            )
        return value
    check_length(len(value), shape, path, unit="characters")
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and not compiled.search(value):
        raise bad_request(f"{path} is not in the expected format (pattern {pattern}).")
    return value


def _integer(value: Any, shape: Shape, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _wrong_type(path, "a whole number", value)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad_request(f"{path} must be between {low} and {high}; it is {value}.")
    return value


def check_length(length: int, shape: Shape, path: str, *, unit: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        raise bad_request(f"{path} must have at least {low} {unit}; it has {length}.")
    if high is not None and length > high:
        raise bad_request(f"{path} can have at most {high} {unit}; it has {length}.")


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # Smithy patterns are ECMAScript regexes; Python's `$` would also accept a trailing
    # newline, so an end anchor becomes `\Z`.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _shown(value: str) -> str:
    text = value if len(value) <= MAX_SHOWN_VALUE else value[:MAX_SHOWN_VALUE] + "…"
    return f"“{text}”"
