"""Request ids and the security headers Django's SecurityMiddleware doesn't set."""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from .logs import new_request_id, request_id_var

# No inline script or style anywhere in the console: htmx is told not to inject its
# indicator <style> (the htmx-config meta in base.html), console.js is a file.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

Middleware = Callable[[HttpRequest], HttpResponse]


def request_id_middleware(get_response: Middleware) -> Middleware:
    """Give each request a uuid: on its log lines, the tasks it queues and `X-Request-Id`."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = request_id
        return response

    return middleware


def health_check_middleware(get_response: Middleware) -> Middleware:
    """`GET /healthz` for container healthchecks: 200 when the database answers, else 503.

    Answered before host validation and the HTTPS redirect, so a probe on 127.0.0.1 over
    plain HTTP works whatever ALLOWED_HOSTS and HTTPS say. It shows nothing but "ok".
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz":
            return get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
        return HttpResponse("ok\n", content_type="text/plain")

    return middleware


def security_headers_middleware(get_response: Middleware) -> Middleware:
    """CSP on HTML responses, unless the view set a stricter one of its own."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    return middleware


def refuse_nul_middleware(get_response: Middleware) -> Middleware:
    """400 for a console request with a NUL character in its path, query or form.

    PostgreSQL can neither store nor compare text holding NUL (0x00): a lookup with one fails
    with a DataError, a 500. No name, address or form value may contain one anyway. The SES
    APIs (v2 under /v2/, v1 Query on /) check their own input and answer in their own error
    shapes, so they are left alone; `/` itself is otherwise only a redirect that reads no input.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        is_api = request.path.startswith("/v2/") or request.path == "/"
        if not is_api and _has_nul(request):
            return HttpResponseBadRequest(
                "The request contains a NUL character (0x00), which no name or form field may "
                "contain. Remove it and try again.\n",
                content_type="text/plain; charset=utf-8",
            )
        return get_response(request)

    return middleware


def _has_nul(request: HttpRequest) -> bool:
    forms = [request.GET] + ([request.POST] if request.method == "POST" else [])
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values)
        for data in forms
        for key, values in data.lists()
    )
