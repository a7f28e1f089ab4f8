"""A configuration set's own page: its details and the identities that use it as their default
(the SES console's configuration set page, for what sesconsole keeps of a set)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.access import console_scope

from .models import ConfigurationSet


@require_GET
@login_required
def configuration_set_detail(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    config_set = get_object_or_404(
        ConfigurationSet.objects.filter(account=scope.account, region=scope.region), name=name
    )
    users = list(
        config_set.identities_using_as_default().only("name", "identity_type", "region_id")
    )
    context = {
        "region": scope.region,
        "nav": "configuration_sets",
        "config_set": config_set,
        "users": users,
    }
    return render(request, "identities/configuration_set_detail.html", context)
