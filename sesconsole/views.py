"""Project-wide error pages."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
)
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

# Seconds a client is asked to wait when the database is down (a restart takes seconds).
RETRY_AFTER = 30


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the error page, rendered without the request's context (no user, no region:
    their context processors would query the database, which may be what failed). When the
    database is down or restarting, say so and answer 503 with Retry-After, so that people and
    proxies try again; anything else is a plain 500. Never a traceback (DEBUG is off)."""
    unavailable = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    html = loader.render_to_string("500.html", {"database_unavailable": unavailable})
    if unavailable:
        return HttpResponse(html, status=503, headers={"Retry-After": str(RETRY_AFTER)})
    return HttpResponseServerError(html)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the static file
    (its hashed, long-cached name in production)."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))
