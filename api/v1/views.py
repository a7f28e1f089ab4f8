"""The SES v1 Query endpoint: `POST /` with `Action=…`, sharing `/` with the console's home.

`root` sends API-shaped requests here (any method but GET/HEAD, an `Action` parameter, or an
Authorization header) and everything else to the console's home page, unchanged. So a v1 call
never meets Django's CSRF page or any other HTML.

A call: read the form parameters (body and query string), authenticate with the v2 API's SigV4
verifier (`api.auth`; botocore signs v1 with the same name, `ses`), look the action up, decode
its members against botocore's `ses` model (`query.decode`), run one operation, and answer in
the model's XML. Every error, from the signature check to the operation, goes through
`errors.from_v2` or is a `QueryError` already; nothing unexpected escapes as HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.views import home
from api.auth import authenticate
from api.body_size import V1_SEND_BODY_LIMIT, BodyTooLarge, read_body, site_limit
from api.errors import ApiError
from api.sigv4 import SigV4Error
from api.wire import Call, new_request_id

from . import account, identities, query, resources, sending
from .errors import QueryError, from_v2, invalid_parameter

log = logging.getLogger(__name__)

Action = Callable[[Call], dict[str, Any] | None]

ACTIONS: dict[str, Action] = {
    **identities.ACTIONS,
    **resources.ACTIONS,
    **account.ACTIONS,
    **sending.ACTIONS,
}


def is_api_call(request: HttpRequest) -> bool:
    """A request meant for the Query API rather than the console's home page: anything but
    GET/HEAD/OPTIONS (the console page's own methods and its 405 with Allow), an `Action`
    parameter, or an AWS signature (SigV4, or the retired SigV3 header).
    A proxy's Basic authentication in front of the console is not an AWS signature."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return (
        request.method not in ("GET", "HEAD", "OPTIONS")
        or "Action" in request.GET
        or authorization.startswith("AWS")
        or "HTTP_X_AMZN_AUTHORIZATION" in request.META
    )


@csrf_exempt  # signed API calls carry no CSRF token; the console's GET is not a change
def root(request: HttpRequest) -> HttpResponse:
    if is_api_call(request):
        return query_endpoint(request)
    return home(request)


def query_endpoint(request: HttpRequest) -> HttpResponse:
    request_id = new_request_id()
    try:
        op, result = _handle(request)
        body = query.response_xml(op, result, request_id)
        return _xml(body, request_id, 200)
    except QueryError as exc:
        return _error(exc, request_id)
    except (ApiError, SigV4Error, ValidationError) as exc:
        return _error(from_v2(exc), request_id)
    except Exception:
        log.exception("v1 API request %s failed", request_id)
        error = QueryError(
            "InternalFailure",
            f"The request failed because of an internal error (request {request_id}).",
            500,
        )
        return _error(error, request_id)


def _handle(request: HttpRequest) -> tuple[OperationModel, dict[str, Any] | None]:
    if request.method != "POST":
        raise QueryError(
            "InvalidAction",
            f"The SES Query API takes POST requests to /, not {request.method}. Send the "
            "parameters form-encoded in the body, as the AWS SDKs and CLI do.",
        )
    try:
        # The action is in the body: read up to the sends' limit, then hold the others to
        # the site's.
        raw_body = read_body(request, V1_SEND_BODY_LIMIT)
    except BodyTooLarge as exc:
        raise invalid_parameter(f"{exc} Send less data in one request.") from None
    caller = authenticate(request, raw_body)
    params = _parameters(request.META.get("QUERY_STRING", ""), raw_body)
    action = params.get("Action", "")
    if action not in sending.ACTIONS and len(raw_body) > site_limit():
        raise invalid_parameter(
            f"{BodyTooLarge(len(raw_body), site_limit())} Only SendEmail and SendRawEmail take "
            "larger requests."
        )
    if not action:
        raise QueryError("MissingAction", "The request must contain the parameter Action.")
    op = query.operation(action)
    function = ACTIONS.get(action)
    if op is None or function is None:
        raise QueryError(
            "InvalidAction",
            f"The action {action[:100]} is not valid for this web service. This server "
            "implements the SES v1 identity, verification template, configuration set, "
            "account and send actions.",
        )
    version = params.get("Version", query.VERSION)
    if version != query.VERSION:
        raise invalid_parameter(
            f"Version {version[:40]} is not supported; the SES Query API is {query.VERSION}."
        )
    call = Call(
        account=caller.account,
        region=caller.region,
        access_key=caller.access_key,
        body=query.decode(params, op),
    )
    return op, function(call)


def _parameters(query_string: str, body: bytes) -> dict[str, str]:
    """The form parameters of the query string and the body; a name given twice is refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_parameter("The request body must be UTF-8 form-encoded text.") from None
    params: dict[str, str] = {}
    for source in (query_string, text):
        try:
            pairs = parse_qsl(source, keep_blank_values=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise QueryError(
                "MalformedQueryString", "The parameters are not validly form-encoded.", 404
            ) from None
        for name, value in pairs:
            if name in params:
                raise invalid_parameter(f"The parameter {name[:100]} is given more than once.")
            if "\x00" in name or "\x00" in value:
                raise invalid_parameter("Parameters must not contain NUL characters.")
            params[name] = value
    return params


def _xml(body: bytes, request_id: str, status: int) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/xml")
    response["x-amzn-RequestId"] = request_id
    return response


def _error(error: QueryError, request_id: str) -> HttpResponse:
    return _xml(query.error_xml(error, request_id), request_id, error.status)
