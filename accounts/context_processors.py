from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .access import enabled_regions, may_verify_without_dns


def console(request: HttpRequest) -> dict[str, Any]:
    """The region list for the top bar, the region the page is in (from the URL), and the
    local-verification switches every page shows (the DNS_AUTO_VERIFY banner, the staff-only
    "Verify without DNS" button)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    region_code = match.kwargs.get("region") if match else None
    return {
        "console_regions": enabled_regions(request),
        "current_region_code": region_code or request.session.get("region"),
        "dns_auto_verify": settings.DNS_AUTO_VERIFY,
        "can_verify_without_dns": may_verify_without_dns(request.user),
    }
