"""Keyset pagination with opaque, signed NextTokens.

A token is the urlsafe base64 of a `django.core.signing` payload holding the last name of the
previous page and the list it belongs to (account, region, kind). Names are unique within a
list, so "name > last" is a stable cursor however rows are added or deleted between pages. A
token that was tampered with, belongs to another list, or is garbage is a BadRequestException:
the model declares no InvalidNextTokenException for these operations.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core import signing
from django.db.models import QuerySet

from .errors import bad_request
from .wire import Call

SALT = "sesconsole.api.next-token"
INVALID_TOKEN = (
    "The NextToken is not valid. Pass the NextToken from the previous response unchanged, "
    "or leave it out to start from the first page."
)

T = TypeVar("T")


def encode_token(scope: str, last_name: str) -> str:
    signed = signing.dumps({"s": scope, "k": last_name}, salt=SALT)
    return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def decode_token(scope: str, token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        signed = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        data = signing.loads(signed, salt=SALT)
    except (binascii.Error, ValueError, UnicodeError, signing.BadSignature):
        raise bad_request(INVALID_TOKEN) from None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), str):
        raise bad_request(INVALID_TOKEN)
    return data["k"]


def list_scope(call: Call, kind: str) -> str:
    return f"{call.account.pk}:{call.region.code}:{kind}"


def page_size(raw: Any, *, default: int, low: int, high: int) -> int:
    """PageSize from the query string (text) or the body (an int checked by the model)."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise bad_request(f"PageSize must be a whole number from {low} to {high}.") from None
    if not low <= raw <= high:
        raise bad_request(f"PageSize must be from {low} to {high}; it is {raw}.")
    # ListEmailIdentities documents 0 as valid; an empty page helps nobody, so 0 means default.
    return raw or default


def keyset_page(
    queryset: QuerySet[Any],
    *,
    scope: str,
    token: str | None,
    size: int,
    name_of: Callable[[Any], str],
    field: str = "name",
) -> tuple[Sequence[Any], str | None]:
    """One page of `queryset` ordered by `field`, and the token for the next page (or None)."""
    after = decode_token(scope, token) if token else None
    rows = list(keyset_slice(queryset, after, size, field))
    return keyset_result(rows, scope=scope, size=size, name_of=name_of)


def keyset_slice(
    queryset: QuerySet[Any], after: Any, size: int, field: str = "name"
) -> QuerySet[Any]:
    """The rows of a page: those after `after` (None: from the first) by `field`, one more
    than `size` to tell whether another page follows."""
    queryset = queryset.order_by(field)
    if after is not None:
        queryset = queryset.filter(**{f"{field}__gt": after})
    return queryset[: size + 1]


def keyset_result(
    rows: Sequence[T], *, scope: str, size: int, name_of: Callable[[T], str]
) -> tuple[Sequence[T], str | None]:
    """The page among `keyset_slice`'s rows, and the token for the next page (or None)."""
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_token(scope, name_of(rows[-1]))
