"""Permission helpers for console views: resolve the user's account and the URL's region.

Every console view starts with `console_scope(request, region)`: anything outside the
user's own account is a 404, never a 403, so other tenants' names are never confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.http import Http404, HttpRequest

from .models import Account, Region, account_for_user


@dataclass(frozen=True)
class Scope:
    account: Account
    region: Region


def console_account(request: HttpRequest) -> Account:
    """The signed-in user's account, for console pages outside a region (access keys, DNS
    servers, mailbox); 404 for a user who is not a member of one."""
    account = account_for_user(request.user)
    if account is None:
        raise Http404("Your user is not a member of any account. Ask an operator to add you.")
    return account


def console_scope(request: HttpRequest, region_code: str) -> Scope:
    account = console_account(request)
    option = next((r for r in enabled_regions(request) if r.code == region_code), None)
    if option is None:
        raise Http404(f"There is no region {region_code}.")
    if request.session.get("region") != option.code:
        request.session["region"] = option.code
    return Scope(account=account, region=option.region())


class RegionOption(NamedTuple):
    """An enabled region as the top bar's selector lists it (a row, not a model instance: a
    page lists all ~30 regions and uses one)."""

    code: str
    name: str
    dkim_signing_zone: str

    def region(self) -> Region:
        return Region.from_db(None, ["code", "name", "dkim_signing_zone", "enabled"], [*self, True])


def enabled_regions(request: HttpRequest) -> list[RegionOption]:
    """The enabled regions, loaded once per request: the page's scope and the top bar's region
    selector both need them."""
    regions: list[RegionOption] | None = getattr(request, "_enabled_regions", None)
    if regions is None:
        rows = Region.objects.filter(enabled=True).values_list("code", "name", "dkim_signing_zone")
        regions = [RegionOption(*row) for row in rows]
        request._enabled_regions = regions  # type: ignore[attr-defined]
    return regions


def may_verify_without_dns(user: object) -> bool:
    """The console's "Verify without DNS": operators (staff) only, and only in a deployment
    that allows it (CONSOLE_VERIFY_WITHOUT_DNS, on for the embedded mode)."""
    return bool(settings.CONSOLE_VERIFY_WITHOUT_DNS and getattr(user, "is_staff", False))
