"""Console pages for DNS: "Check now", "Publish DNS records" and the operators' "Verify without
DNS" on an identity, the account's
RFC 2136 servers (list, add, delete), and the operator's signing-zone export.

TSIG secrets are write-only: the form never renders them back and no page shows them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts import actors
from accounts.access import console_account, console_scope, may_verify_without_dns
from sesconsole import deletes, htmx_responses, listing

from . import operations, publishing, signing_zone
from .dns_forms import DnsServerFilterForm, DnsServerForm
from .models import Identity

CONSOLE_SKIP_DNS_MESSAGE = (
    "Marked verified without a DNS check (console action “Verify without DNS”): "
    "DNS was not looked at."
)


def _identity(request: HttpRequest, region: str, name: str) -> Identity:
    scope = console_scope(request, region)
    queryset = Identity.objects.in_scope(scope.account, scope.region).select_related("region")
    return get_object_or_404(queryset, name=name)


def _back_to_identity(request: HttpRequest, identity: Identity) -> HttpResponse:
    # htmx: reload the page so the summary, the record table and the history all update.
    if getattr(request, "htmx", False):
        return HttpResponseClientRefresh()
    return redirect("identities:detail", region=identity.region_id, name=identity.name)


# --- identity actions -----------------------------------------------------------------------
@require_POST
@login_required
def check_now(request: HttpRequest, region: str, name: str) -> HttpResponse:
    identity = _identity(request, region, name)
    if operations.check_now(identity, actor=actors.console(request.user)):
        messages.success(request, f"A DNS check of {identity.name} is on its way.")
    else:
        messages.info(
            request,
            "Email address identities are verified with the link in the verification email, "
            "not through DNS; only a custom MAIL FROM domain is checked there.",
        )
    return _back_to_identity(request, identity)


@require_POST
@login_required
def publish_records(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """Queue the publishing (the worker talks to the DNS servers, never this request) and
    show its progress: the run's page without JavaScript, its status box with htmx."""
    identity = _identity(request, region, name)
    try:
        run = publishing.request_publish(identity, actor=actors.console(request.user))
    except publishing.PublishRateLimited as exc:
        messages.error(request, str(exc))
        return _back_to_identity(request, identity)
    if getattr(request, "htmx", False):
        return render(request, "identities/publish_run.html#status", {"run": run})
    return redirect(
        "identities:publish_run", region=identity.region_id, name=identity.name, pk=run.pk
    )


@require_GET
@login_required
def publish_run(request: HttpRequest, region: str, name: str, pk: int) -> HttpResponse:
    """A publishing run's progress and result. The status box polls itself with htmx until
    the run is done; without JavaScript the page has a Refresh link."""
    identity = _identity(request, region, name)
    run = get_object_or_404(identity.publish_runs, pk=pk)
    template = "identities/publish_run.html"
    if getattr(request, "htmx", False):
        template += "#status"
    context = {"run": run, "identity": identity, "region": identity.region, "nav": "identities"}
    return render(request, template, context)


@require_POST
@login_required
def verify_without_dns(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """The admin's "Mark verified (skip DNS)" on the identity page, for operators on a laptop
    with no DNS zone to publish in. Recorded in History with the operator's name."""
    identity = _identity(request, region, name)
    if not may_verify_without_dns(request.user):
        raise PermissionDenied(
            "Only operators (staff users) can verify an identity without DNS, and only in a "
            "deployment that allows it (CONSOLE_VERIFY_WITHOUT_DNS=true)."
        )
    operations.verify_without_dns(
        identity, CONSOLE_SKIP_DNS_MESSAGE, actor=actors.console(request.user)
    )
    messages.success(
        request,
        f"{identity.name} is verified without a DNS check. Its DNS records were not looked at; "
        "use Check now to check them again.",
    )
    return _back_to_identity(request, identity)


# --- DNS servers ----------------------------------------------------------------------------
def _servers_context(**extra: Any) -> dict[str, Any]:
    return {"nav": "dns_servers", **extra}


@require_GET
@login_required
def dns_servers(request: HttpRequest) -> HttpResponse:
    filters = DnsServerFilterForm(request.GET)
    servers = console_account(request).dns_servers.order_by("zone", "pk")
    if q := filters.value("q"):
        servers = servers.filter(zone__icontains=q)
    context = _servers_context(filters=filters, **listing.paginate(request, servers, "dns_servers"))
    template = "identities/dns_servers.html"
    if htmx_responses.partial_wanted(request):
        template += "#results"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def dns_server_create(request: HttpRequest) -> HttpResponse:
    account = console_account(request)
    form = DnsServerForm(request.POST if request.method == "POST" else None, account=account)
    if form.is_valid():
        server = form.save()
        messages.success(request, f"The DNS server for {server.zone} was added.")
        return redirect("identities:dns_servers")
    return render(request, "identities/dns_server_form.html", _servers_context(form=form))


@require_http_methods(["GET", "POST"])
@login_required
def dns_server_delete(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(console_account(request).dns_servers, pk=pk)
    form = deletes.confirm_form(request, server.zone)
    servers_url = reverse("identities:dns_servers")
    if form.is_valid():
        server.delete()
        messages.success(request, f"The DNS server for {server.zone} was deleted.")
        return htmx_responses.redirect_after_post(request, servers_url)
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete the DNS server for {server.zone}?",
        heading="Delete DNS server",
        warning=f"Publish DNS records can no longer update {server.zone} from the console. "
        "Records already published stay on the server. This can't be undone.",
        cancel_url=servers_url,
        crumbs="_crumbs.html",
        section="DNS servers",
        section_url=servers_url,
        current="Delete",
        **_servers_context(),
    )


@require_GET
@staff_member_required
def signing_zone_file(request: HttpRequest) -> HttpResponse:
    """Operator export: the TXT records the signing hosted zone must serve (zone-file syntax)."""
    zone = request.GET.get("zone") or settings.SIGNING_HOSTED_ZONE
    if zone not in signing_zone.signing_zones():
        raise Http404(f"{zone} is not a signing hosted zone of this deployment.")
    response = HttpResponse(signing_zone.zone_file(zone), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{zone}.zone"'
    return response
