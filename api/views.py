"""Thin dispatch for the SES v2 API: one view per URI, one operation per HTTP method.

Every request goes through `_handle`: read the body, authenticate (SigV4), check the body
against botocore's model, run the operation, answer in SES's JSON and error shapes. A route
whose operation checks the caller's key itself (`Route.checks_key`) may run on a key not read
for the request; `_handle` alone decides what happens when that check fails. Domain
errors (`ValidationError` and its subclasses) become SES error codes; anything unexpected is
logged and answered as InternalServiceErrorException, never as an HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import shapes
from .auth import Caller, KeyNotConfirmed, authenticate, key_confirmed
from .body_size import BodyTooLarge, read_body
from .errors import ApiError, bad_request, from_sigv4_error, from_validation_error
from .sigv4 import SigV4Error
from .wire import Call, Operation, error_response, json_response, new_request_id, read_json_body

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """An operation: its botocore name (for the body check) and the function that runs it.

    `model_name` is None for the legacy GET list forms, which take no body; `lenient` accepts
    bodies without the model's required members. `preload` names (from the path parameters) an
    identity the operation reads, which authentication may read in its own statement and hand
    over as `Call.preloaded` (api.auth); it returns None when it cannot tell. `max_body` is
    the largest body it takes (api.body_size), when that is more than the site's limit.
    `checks_key`: the operation checks the caller's key in its own first round trip
    (`Call.key_check`, passed on to sending's KeyCheck), so authentication need not read it.
    """

    model_name: str | None
    function: Operation
    lenient: bool = False
    preload: Callable[[dict[str, str]], str | None] | None = None
    max_body: int | None = None
    checks_key: bool = False


def endpoint(**routes: Route) -> Callable[..., HttpResponse]:
    """A view for one URI that dispatches on the HTTP method (GET=Route(...), ...)."""

    @csrf_exempt
    def view(request: HttpRequest, **path: str) -> HttpResponse:
        request_id = new_request_id()
        route = routes.get(request.method or "")
        try:
            if route is None:
                raise ApiError(
                    "UnknownOperationException",
                    f"No SES v2 operation matches {request.method} {request.path}.",
                    404,
                )
            return json_response(_handle(request, route, path), request_id)
        except ApiError as exc:
            return error_response(exc, request_id)
        except SigV4Error as exc:
            return error_response(from_sigv4_error(exc), request_id)
        except ValidationError as exc:
            return error_response(from_validation_error(exc), request_id)
        except Exception:
            log.exception("API request %s failed: %s %s", request_id, request.method, request.path)
            error = ApiError(
                "InternalServiceErrorException",
                f"The request failed because of an internal error (request {request_id}).",
            )
            return error_response(error, request_id)

    return view


def _handle(request: HttpRequest, route: Route, path: dict[str, str]) -> dict[str, Any]:
    try:
        raw_body = read_body(request, route.max_body)
    except BodyTooLarge as exc:
        raise bad_request(f"{exc} Send less data in one request.") from None
    identity_name = route.preload(path) if route.preload is not None else None
    caller = authenticate(request, raw_body, identity_name, key_checked_later=route.checks_key)
    if caller.key_check is None:
        return _run(request, route, path, caller)
    try:
        answer = _run(request, route, path, caller)
    except KeyNotConfirmed:
        # The key changed since this process last read it: the usual path reads it and
        # refuses the request as it always has, or runs the operation again on what it read.
        return _run(request, route, path, authenticate(request, raw_body))
    except Exception:
        # The usual path reads the key before anything else, so a refusal of the key comes
        # before any answer of the operation's; this one may have failed before its check.
        authenticate(request, raw_body)
        raise
    key_confirmed(caller)
    return answer


def _run(
    request: HttpRequest, route: Route, path: dict[str, str], caller: Caller
) -> dict[str, Any]:
    body = read_json_body(request)
    if route.model_name is not None:
        body = shapes.validate_body(route.model_name, body, top_level_required=not route.lenient)
    elif body:
        raise bad_request("This operation takes no request body.")
    call = Call(
        account=caller.account,
        region=caller.region,
        access_key=caller.access_key,
        body=body,
        query=request.GET,
        preloaded=caller.preloaded,
        key_check=caller.key_check,
    )
    return route.function(call, **path)


@csrf_exempt
def unknown_operation(request: HttpRequest, **path: str) -> HttpResponse:
    """Any other /v2/ URI: SES's JSON 404 instead of Django's HTML page."""
    error = ApiError(
        "UnknownOperationException",
        f"No SES v2 operation matches {request.method} {request.path}. This server implements "
        "the identity, configuration set, custom verification template, tagging and account "
        "operations.",
        404,
    )
    return error_response(error, new_request_id())


@csrf_exempt
def bench_noop(request: HttpRequest) -> HttpResponse:
    """The benchmark's ceiling: an unauthenticated `{}` (routed only with SESCONSOLE_BENCH=1)."""
    return json_response({}, new_request_id())
