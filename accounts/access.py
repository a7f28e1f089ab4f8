"""Permission helpers for console views: resolve the user's account and the URL's region.

Every console view starts with `console_scope(request, region)`: anything outside the
user's own account is a 404, never a 403, so other tenants' names are never confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest

from .models import Account, Region, account_for_user


@dataclass(frozen=True)
class Scope:
    account: Account
    region: Region


def console_scope(request: HttpRequest, region_code: str) -> Scope:
    account = account_for_user(request.user)
    if account is None:
        raise Http404("Your user is not a member of any account. Ask an operator to add you.")
    region = next((r for r in enabled_regions(request) if r.code == region_code), None)
    if region is None:
        raise Http404(f"There is no region {region_code}.")
    if request.session.get("region") != region.code:
        request.session["region"] = region.code
    return Scope(account=account, region=region)


def enabled_regions(request: HttpRequest) -> list[Region]:
    """The enabled regions, loaded once per request: the page's scope and the top bar's region
    selector both need them."""
    regions: list[Region] | None = getattr(request, "_enabled_regions", None)
    if regions is None:
        regions = list(Region.objects.filter(enabled=True))
        request._enabled_regions = regions  # type: ignore[attr-defined]
    return regions
