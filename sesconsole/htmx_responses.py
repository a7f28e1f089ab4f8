"""The two answers every console view chooses between: a fragment for htmx or the whole page,
and, after a successful POST, a redirect (an htmx request gets HX-Redirect, so the whole page
moves, not just the swapped part)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def partial_wanted(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment. A history-restore request after a cache miss
    needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.history_restore_request)


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """POST/redirect/GET; from htmx, the whole page goes to `url`."""
    if partial_wanted(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)
