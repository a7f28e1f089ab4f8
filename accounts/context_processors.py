from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .access import enabled_regions


def console(request: HttpRequest) -> dict[str, Any]:
    """The region list for the top bar, and the region the page is in (from the URL)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    region_code = match.kwargs.get("region") if match else None
    return {
        "console_regions": enabled_regions(request),
        "current_region_code": region_code or request.session.get("region"),
    }
