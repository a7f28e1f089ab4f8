from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from .models import Region
from .regions import DEFAULT_REGION


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    region = request.session.get("region", DEFAULT_REGION)
    return redirect("identities:list", region=region)


@require_GET
@login_required
def switch_region(request: HttpRequest) -> HttpResponse:
    """The top bar's region selector (a GET form, so it works without JavaScript)."""
    code = request.GET.get("region", "")
    if not Region.objects.filter(code=code, enabled=True).exists():
        code = DEFAULT_REGION
    return redirect(reverse("identities:list", kwargs={"region": code}))
