"""The Verified identities console: list, create wizard, identity page with tabs, edits,
delete and record downloads; and the configuration sets pages.

Every view starts with `console_scope` and loads objects through it, so another account's
identity is a 404. Pages work without JavaScript (POST/redirect/GET); htmx requests get the
page's partial instead of the whole page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh

from accounts import actors
from accounts.access import Scope, console_scope
from sesconsole import deletes, listing, validators
from sesconsole.htmx_responses import partial_wanted, redirect_after_post

from . import forms, hierarchy, operations, policy_views, provisioning, records
from .models import ConfigurationSet, Identity, VerificationStatus

TABS = ("authentication", "authorization", "configuration_set", "tags", "notifications")


# --- helpers ----------------------------------------------------------------------------------
def _render(
    request: HttpRequest, template: str, context: dict[str, Any], part: str
) -> HttpResponse:
    name = f"{template}#{part}" if partial_wanted(request) else template
    return render(request, name, context)


def _identity(scope: Scope, name: str) -> Identity:
    queryset = Identity.objects.in_scope(scope.account, scope.region).select_related("region")
    return get_object_or_404(queryset, name=name)


def _url(view: str, identity: Identity) -> str:
    return reverse(
        f"identities:{view}", kwargs={"region": identity.region_id, "name": identity.name}
    )


def _actor(request: HttpRequest) -> str:
    return actors.console(request.user)


def _is_settling(identity: Identity) -> bool:
    """Still waiting on DNS or a click: the page keeps polling while this is true."""
    pending = VerificationStatus.PENDING
    return pending in (
        identity.verification_status,
        identity.dkim_status if identity.is_domain else "",
        identity.mail_from_status,
    )


def _page_context(scope: Scope, identity: Identity | None = None, **extra: Any) -> dict[str, Any]:
    return {"region": scope.region, "nav": "identities", "identity": identity, **extra}


IDENTITY_DELETE_WARNING = (
    "Deleting an identity removes its DKIM keys, tags and settings, and you can no longer send "
    "from it. This can't be undone."
)


# --- list and bulk delete -----------------------------------------------------------------------
def _status_order() -> Case:
    # "Sort by status" sorts by the words the user sees, not by the API enum.
    ranked = sorted(VerificationStatus, key=lambda status: status.label)
    whens = [
        When(verification_status=status.value, then=Value(i)) for i, status in enumerate(ranked)
    ]
    return Case(*whens, output_field=IntegerField())


def _filtered_identities(scope: Scope, filters: forms.IdentityFilterForm) -> QuerySet[Identity]:
    queryset = Identity.objects.in_scope(scope.account, scope.region).only(
        "id", "name", "identity_type", "verification_status"
    )
    if q := filters.value("q"):
        queryset = queryset.filter(name__icontains=q)
    if identity_type := filters.value("type"):
        queryset = queryset.filter(identity_type=identity_type)
    if status := filters.value("status"):
        queryset = queryset.filter(verification_status=status)
    sort = filters.value("sort", "name")
    if sort.lstrip("-") == "status":
        rank = _status_order()
        return queryset.order_by(rank.desc() if sort.startswith("-") else rank.asc(), "name")
    return queryset.order_by(sort)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def identity_list(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    filters = forms.IdentityFilterForm(request.GET)
    listed = listing.paginate(request, _filtered_identities(scope, filters), "identities")
    context = _page_context(
        scope,
        filters=filters,
        sort=filters.value("sort", "name"),
        any_pending=any(
            row.verification_status == VerificationStatus.PENDING for row in listed["rows"]
        ),
        **listed,
    )
    return _render(request, "identities/list.html", context, "results")


@require_http_methods(["GET", "POST"])
@login_required
def bulk_delete(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    list_url = reverse("identities:list", kwargs={"region": scope.region.code})
    if request.method == "GET":  # a bookmark or a reload of the confirmation: back to the list
        return redirect(list_url)
    names = request.POST.getlist("identity")
    selected = list(Identity.objects.in_scope(scope.account, scope.region).filter(name__in=names))
    if not selected:
        messages.error(request, "Select at least one identity to delete, then choose Delete.")
        return redirect_after_post(request, list_url)
    form = deletes.bulk_delete_form(request.POST if "confirm" in request.POST else None)
    if not form.is_valid():
        count = len(selected)
        noun = "identity" if count == 1 else "identities"
        return deletes.confirm_page(
            request,
            form,
            title=f"Delete {count} {noun}?",
            heading=f"Delete {count} {noun}",
            warning=IDENTITY_DELETE_WARNING,
            cancel_url=list_url,
            crumbs="identities/_breadcrumbs.html",
            details="identities/_bulk_delete_selection.html",
            current="Delete identities",
            **_page_context(scope, selected=selected),
        )
    count = operations.delete_identities(selected, actor=_actor(request))
    noun = "identity" if count == 1 else "identities"
    messages.success(request, f"Deleted {count} {noun}.")
    return redirect_after_post(request, list_url)


# --- create ----------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@login_required
def create(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    data = request.POST if request.method == "POST" else None
    form = forms.IdentityCreateForm(data, scope=scope)
    if form.is_valid():
        try:
            identity = operations.create_identity(
                scope.account, scope.region, form.new_identity(), actor=_actor(request)
            )
        except ValidationError as exc:
            form.add_provisioning_error(exc)
        else:
            if form.key_was_cleaned:
                messages.info(request, validators.BYODKIM_CLEANED_NOTICE)
            messages.success(request, f"The identity {identity.name} was created.")
            if form.cleaned_data.get("publish_records") and identity.is_domain:
                messages.info(
                    request,
                    "Its DNS records are being published to your DNS server; the History "
                    "below shows the outcome.",
                )
            return redirect_after_post(request, _url("detail", identity))
    return _render(request, "identities/create.html", _page_context(scope, form=form), "form")


# --- identity page ---------------------------------------------------------------------------------
def _authentication_context(scope: Scope, identity: Identity) -> dict[str, Any]:
    if not identity.is_domain:
        # What the mailer decides for this address, so the tab never says "signed" when it
        # would not sign.
        signer = hierarchy.dkim_signing_identity(scope.account, scope.region, identity.name)
        return {"dkim_signer": signer}
    expected = records.expected_records(identity, include_recommended=True)
    return {
        "verification_records": [r for r in expected if r.purpose == records.Purpose.VERIFICATION],
        "dkim_records": [r for r in expected if r.purpose == records.Purpose.DKIM],
        "mail_from_records": [r for r in expected if r.is_mail_from],
        "recommended_records": [r for r in expected if r.recommended],
    }


def _configuration_set_context(scope: Scope, identity: Identity) -> dict[str, Any]:
    name = identity.configuration_set_name
    exists = (
        bool(name)
        and ConfigurationSet.objects.filter(
            account=scope.account, region=scope.region, name=name
        ).exists()
    )
    return {"configuration_set_missing": bool(name) and not exists}


def _tags_context(scope: Scope, identity: Identity) -> dict[str, Any]:
    return {"tags": list(identity.tags.all())}


TAB_CONTEXT: dict[str, Callable[[Scope, Identity], dict[str, Any]]] = {
    "authentication": _authentication_context,
    "authorization": policy_views.authorization_context,
    "configuration_set": _configuration_set_context,
    "tags": _tags_context,
    "notifications": lambda scope, identity: {},
}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, region: str, name: str, tab: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    context = _page_context(scope, identity, tab=tab, tabs=TABS, settling=_is_settling(identity))
    context.update(TAB_CONTEXT[tab](scope, identity))
    return _render(request, "identities/detail.html", context, "tabs")


@require_GET
@login_required
def status(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """The summary's status, polled by htmx while the identity is pending."""
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    if not partial_wanted(request):
        return redirect(_url("detail", identity))
    if not _is_settling(identity):
        # Settled: reload once so every container shows the new state; the new page no
        # longer polls.
        return HttpResponseClientRefresh()
    context = _page_context(scope, identity, settling=True)
    return render(request, "identities/detail.html#status", context)


# --- edits ----------------------------------------------------------------------------------------
def _render_edit(
    request: HttpRequest, scope: Scope, identity: Identity, form: Any, template: str
) -> HttpResponse:
    context = _page_context(scope, identity, form=form)
    return _render(request, f"identities/{template}", context, "form")


def _apply_dkim(form: forms.DkimSigningForm, identity: Identity, actor: str) -> None:
    """Apply a valid DKIM form: the signing switch, then an origin switch or a key length."""
    operations.set_dkim_signing(identity, form.cleaned_data["dkim_signing_enabled"], actor=actor)
    if not isinstance(form, forms.DomainDkimForm):
        return
    if form.parsed_key is not None:
        operations.use_byodkim(
            identity, form.cleaned_data["selector"], form.parsed_key, actor=actor
        )
    elif form.switches_to_easy_dkim:
        operations.use_easy_dkim(identity, form.cleaned_data["key_length"], actor=actor)
    elif length := form.new_key_length:
        operations.set_dkim_key_length(identity, length, actor=actor)


@require_http_methods(["GET", "POST"])
@login_required
def edit_dkim(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    form_class = forms.DomainDkimForm if identity.is_domain else forms.DkimSigningForm
    form = form_class(request.POST if request.method == "POST" else None, identity=identity)
    if form.is_valid():
        try:
            with transaction.atomic():
                _apply_dkim(form, identity, _actor(request))
        except ValidationError as exc:
            # The 24-hour rule can still trip if someone else changed the length meanwhile.
            form.add_error(None, forms.INVALID_INPUT_PREFIX + exc.messages[0])
        else:
            if form.parsed_key is not None and form.parsed_key.cleaned:
                messages.info(request, validators.BYODKIM_CLEANED_NOTICE)
            messages.success(request, "The DKIM settings were saved.")
            return redirect_after_post(request, _url("detail", identity))
    return _render_edit(request, scope, identity, form, "edit_dkim.html")


@require_http_methods(["GET", "POST"])
@login_required
def edit_mail_from(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    if not identity.is_domain:
        return redirect(_url("detail", identity))
    form = forms.MailFromForm(request.POST if request.method == "POST" else None, identity=identity)
    if form.is_valid():
        domain = form.cleaned_data["mail_from_domain"]
        behavior = form.cleaned_data["mail_from_behavior"]
        operations.set_mail_from(identity, domain, behavior, actor=_actor(request))
        messages.success(
            request,
            f"Custom MAIL FROM domain set to {identity.mail_from_domain}."
            if domain
            else "Custom MAIL FROM domain removed.",
        )
        return redirect_after_post(request, _url("detail", identity))
    return _render_edit(request, scope, identity, form, "edit_mail_from.html")


@require_http_methods(["GET", "POST"])
@login_required
def edit_configuration_set(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    data = request.POST if request.method == "POST" else None
    form = forms.ConfigurationSetChoiceForm(data, identity=identity, scope=scope)
    if form.is_valid():
        chosen = form.cleaned_data["configuration_set"]
        try:
            changed = operations.set_configuration_set(identity, chosen, actor=_actor(request))
        except validators.NotFoundError as exc:
            # Deleted between the form's check and the save.
            form.add_error("configuration_set", exc)
            return _render_edit(request, scope, identity, form, "edit_configuration_set.html")
        if not changed:
            messages.info(request, "The default configuration set is unchanged.")
            return redirect_after_post(request, _url("tab_configuration_set", identity))
        messages.success(
            request,
            f"Default configuration set set to {chosen}."
            if chosen
            else "Default configuration set removed.",
        )
        return redirect_after_post(request, _url("tab_configuration_set", identity))
    return _render_edit(request, scope, identity, form, "edit_configuration_set.html")


@require_http_methods(["GET", "POST"])
@login_required
def edit_tags(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    form = forms.TagsForm(request.POST if request.method == "POST" else None, tagged=identity)
    if form.is_valid():
        tags = form.cleaned_data["tags"]
        pairs = [(tag.key, tag.value) for tag in tags]
        operations.set_tags(identity, pairs, actor=_actor(request))
        messages.success(request, f"Tags saved: {len(tags)} tag{'' if len(tags) == 1 else 's'}.")
        return redirect_after_post(request, _url("tab_tags", identity))
    return _render_edit(request, scope, identity, form, "edit_tags.html")


@require_http_methods(["GET", "POST"])
@login_required
def edit_feedback(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    data = request.POST if request.method == "POST" else None
    form = forms.FeedbackForwardingForm(data, identity=identity)
    if form.is_valid():
        enabled = form.cleaned_data["feedback_forwarding_enabled"]
        operations.set_feedback_forwarding(identity, enabled, actor=_actor(request))
        messages.success(
            request, f"Email feedback forwarding {'enabled' if enabled else 'disabled'}."
        )
        return redirect_after_post(request, _url("tab_notifications", identity))
    return _render_edit(request, scope, identity, form, "edit_notifications.html")


# --- delete and downloads ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@login_required
def delete(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    form = deletes.confirm_form(request, identity.name)
    if form.is_valid():
        operations.delete_identity(identity, actor=_actor(request))
        messages.success(request, f"The identity {identity.name} was deleted.")
        return redirect_after_post(
            request, reverse("identities:list", kwargs={"region": scope.region.code})
        )
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete {identity.name}?",
        heading="Delete identity",
        warning=f"Deleting {identity.name} removes its DKIM keys, tags and settings, and you can "
        "no longer send from it. This can't be undone.",
        cancel_url=_url("detail", identity),
        crumbs="identities/_breadcrumbs.html",
        current="Delete",
        **_page_context(scope, identity),
    )


def _download_name(identity: Identity, suffix: str) -> str:
    # Addresses may hold characters that are unsafe in a file name or a header.
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", identity.name) + suffix


def _attachment(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_GET
@login_required
def records_csv(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    content = records.records_csv(records.expected_records(identity))
    return _attachment(content, "text/csv; charset=utf-8", _download_name(identity, "-records.csv"))


@require_GET
@login_required
def records_zone(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = _identity(scope, name)
    content = records.zone_file(
        identity, records.expected_records(identity, include_recommended=True)
    )
    return _attachment(content, "text/plain; charset=utf-8", _download_name(identity, ".zone"))


# --- configuration sets ------------------------------------------------------------------------
def _set_context(scope: Scope, **extra: Any) -> dict[str, Any]:
    return {"region": scope.region, "nav": "configuration_sets", **extra}


def _sets_url(scope: Scope) -> str:
    return reverse("identities:configuration_sets", kwargs={"region": scope.region.code})


@require_GET
@login_required
def configuration_sets(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    # One query: the number of identities using each set as default is a subquery, so the
    # page costs the same with 1 set or 1,000.
    users = (
        Identity.objects.in_scope(scope.account, scope.region)
        .filter(configuration_set_name=OuterRef("name"))
        .order_by()
        .values("configuration_set_name")
        .annotate(count=Count("pk"))
        .values("count")
    )
    filters = forms.ConfigurationSetFilterForm(request.GET)
    sets = ConfigurationSet.objects.filter(account=scope.account, region=scope.region)
    if q := filters.value("q"):
        sets = sets.filter(name__icontains=q)
    sets = sets.annotate(identity_count=Coalesce(Subquery(users), Value(0))).order_by("name")
    context = _set_context(scope, filters=filters, **listing.paginate(request, sets, "sets"))
    return _render(request, "identities/configuration_sets.html", context, "results")


@require_http_methods(["GET", "POST"])
@login_required
def configuration_set_create(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    data = request.POST if request.method == "POST" else None
    form = forms.ConfigurationSetCreateForm(data, scope=scope)
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            provisioning.create_configuration_set(scope.account, scope.region, name)
        except validators.AlreadyExistsError:
            # Someone created the same name between the form's check and the insert.
            form.add_error("name", ValidationError(forms.already_exists_message(name, scope)))
        else:
            messages.success(request, f"The configuration set {name} was created.")
            return redirect_after_post(request, _sets_url(scope))
    context = _set_context(scope, form=form)
    return _render(request, "identities/configuration_set_create.html", context, "form")


@require_http_methods(["GET", "POST"])
@login_required
def configuration_set_delete(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    config_set = get_object_or_404(
        ConfigurationSet.objects.filter(account=scope.account, region=scope.region), name=name
    )
    users = list(config_set.identities_using_as_default().only("name", "region_id"))
    form = deletes.confirm_form(request, config_set.name)
    if form.is_valid():
        config_set.delete()
        messages.success(request, f"The configuration set {name} was deleted.")
        return redirect_after_post(request, _sets_url(scope))
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete {config_set.name}?",
        heading="Delete configuration set",
        warning="Deleting a configuration set can't be undone.",
        cancel_url=_sets_url(scope),
        crumbs="identities/_breadcrumbs.html",
        details="identities/_configuration_set_users.html",
        submit="Delete anyway" if users else "Delete",
        current="Delete set",
        **_set_context(scope, config_set=config_set, users=users),
    )
