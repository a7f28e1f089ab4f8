"""API access keys in the console: list, create (the secret is shown once), deactivate,
activate, delete. Keys belong to the account, not to a region.

Any member of the account may manage its keys; another account's key is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sesconsole import deletes, htmx_responses, listing

from .access import console_account
from .forms import AccessKeyFilterForm
from .models import AccessKey

MAX_DESCRIPTION_LENGTH = 256


def _key_for_user(request: HttpRequest, access_key_id: str) -> AccessKey:
    key = AccessKey.objects.filter(
        account=console_account(request), access_key_id=access_key_id
    ).first()
    if key is None:
        raise Http404("There is no such access key in your account.")
    return key


@require_GET
@login_required
def access_keys(request: HttpRequest) -> HttpResponse:
    account = console_account(request)
    filters = AccessKeyFilterForm(request.GET)
    keys = AccessKey.objects.filter(account=account).order_by("-created_at", "-pk")
    if q := filters.value("q"):
        keys = keys.filter(Q(access_key_id__icontains=q) | Q(description__icontains=q))
    if status := filters.value("status"):
        keys = keys.filter(status=status)
    context = {"filters": filters, "account": account, "nav": "access_keys"}
    context.update(listing.paginate(request, keys, "access_keys"))
    template = "accounts/access_keys.html"
    if htmx_responses.partial_wanted(request):
        template += "#results"
    return render(request, template, context)


@require_POST
@login_required
def access_key_create(request: HttpRequest) -> HttpResponse:
    """Issue a key and show its secret on this response only: it is never readable again."""
    account = console_account(request)
    # One line of text: control characters (NUL, which PostgreSQL can't store, line breaks)
    # are dropped rather than failing the request.
    posted = request.POST.get("description", "")
    description = "".join(c for c in posted if c.isprintable()).strip()[:MAX_DESCRIPTION_LENGTH]
    key, secret = AccessKey.issue(account, description=description)
    context = {"key": key, "secret": secret, "account": account, "nav": "access_keys"}
    response = render(request, "accounts/access_key_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def access_key_deactivate(request: HttpRequest, access_key_id: str) -> HttpResponse:
    key = _key_for_user(request, access_key_id)
    key.deactivate()
    messages.success(
        request, f"Access key {key.access_key_id} is inactive: API calls signed with it now fail."
    )
    return redirect("access_keys")


@require_POST
@login_required
def access_key_activate(request: HttpRequest, access_key_id: str) -> HttpResponse:
    key = _key_for_user(request, access_key_id)
    key.activate()
    messages.success(request, f"Access key {key.access_key_id} is active again.")
    return redirect("access_keys")


@require_http_methods(["GET", "POST"])
@login_required
def access_key_delete(request: HttpRequest, access_key_id: str) -> HttpResponse:
    key = _key_for_user(request, access_key_id)
    form = deletes.confirm_form(request, key.access_key_id)
    keys_url = reverse("access_keys")
    if form.is_valid():
        key.delete()
        messages.success(request, f"Access key {access_key_id} was deleted.")
        return htmx_responses.redirect_after_post(request, keys_url)
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete access key {key.access_key_id}?",
        heading="Delete access key",
        warning="API calls signed with this key fail from now on. Deactivate the key instead "
        "if you may need it again. This can't be undone.",
        cancel_url=keys_url,
        crumbs="_crumbs.html",
        section="API access keys",
        section_url=keys_url,
        current="Delete",
        nav="access_keys",
    )
