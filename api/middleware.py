"""SES API requests go straight to their view, past the console's middleware.

A signed API call (v2 under /v2/, the v1 Query API's `POST /`) authenticates with SigV4 and
answers JSON or XML: it has no use for sessions, CSRF, the signed-in user, messages, htmx,
static files, the console's Content-Security-Policy or X-Frame-Options (both for HTML). Going
through them cost about as much as the rest of Django's request handling together
(BENCHMARKS.md, "Eighth session"). This middleware sits right after SecurityMiddleware, so
what an API answer still gets is:

- its request id (`X-Request-Id`, on its log lines and tasks) and the health check, from the
  middleware before it;
- SecurityMiddleware's HTTPS redirect, HSTS, nosniff, Referrer-Policy and
  Cross-Origin-Opener-Policy;
- the Host check against ALLOWED_HOSTS, which CommonMiddleware makes for the console;
- `Content-Length`, which CommonMiddleware sets for the console;
- Django's handler around every middleware: request signals (the database connection's
  age and health checks), and the `django.request` log line of each 4xx/5xx answer.

Every API view answers errors in its own shapes, refuses NUL characters and applies the body
size limits itself (api.views, api.v1.views). `/_aws/ses` is not sent here: a signed-in
console user may read it, which takes the session and authentication middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from .v1.views import is_api_call

Middleware = Callable[[HttpRequest], HttpResponse]

# The URLconf that routes each kind of API path: resolving against it alone skips matching
# the path against every console pattern first.
V2_URLCONF = "api.urls"
V1_URLCONF = "api.v1.urls"
BENCH_NOOP = "/_bench/noop"  # bench/api.py's ceiling: an API request that does nothing


def api_urlconf(request: HttpRequest) -> str | None:
    """The URLconf of an API request, or None for anything else (the console's)."""
    path = request.path_info
    if path.startswith("/v2/") or path == BENCH_NOOP:
        return V2_URLCONF
    if path == "/" and is_api_call(request):
        return V1_URLCONF
    return None


def api_requests_middleware(get_response: Middleware) -> Middleware:
    def middleware(request: HttpRequest) -> HttpResponse:
        urlconf = api_urlconf(request)
        if urlconf is None:
            return get_response(request)
        request.get_host()  # DisallowedHost (400) for a Host outside ALLOWED_HOSTS
        try:
            match = resolve(request.path_info, urlconf)
        except Resolver404:  # /_bench/noop outside the benchmark
            return get_response(request)
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        if not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    return middleware
