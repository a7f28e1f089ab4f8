"""The identity page's Authorization tab: its sending authorization policies — list, create
(policy generator or JSON), view, edit, delete — through the same operations as the API.

Every view loads the identity through `console_scope` (another account's is a 404) and the
policy by name on that identity. Pages work without JavaScript; forms post and redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import actors
from accounts.access import Scope, console_scope
from sesconsole import deletes, htmx_responses, validators

from . import operations
from .models import Identity, IdentityPolicy
from .policy_forms import PolicyCreateForm, PolicyEditForm, PolicyGenerator, pretty


def _identity(request: HttpRequest, region: str, name: str) -> tuple[Scope, Identity]:
    scope = console_scope(request, region)
    queryset = Identity.objects.in_scope(scope.account, scope.region).select_related("region")
    return scope, get_object_or_404(queryset, name=name)


def _context(scope: Scope, identity: Identity, **extra: Any) -> dict[str, Any]:
    return {"region": scope.region, "nav": "identities", "identity": identity, **extra}


def _to_tab(identity: Identity) -> HttpResponse:
    return redirect("identities:tab_authorization", region=identity.region_id, name=identity.name)


def authorization_context(scope: Scope, identity: Identity) -> dict[str, Any]:
    """The tab's own context, for the identity page's view."""
    return {"policies": list(identity.policies.all())}


def _add_operation_error(form: Any, exc: ValidationError, document_field: str | None) -> None:
    # The operation's refusal lands next to what caused it: a taken name by the name, the
    # 20-policy limit above the form, anything about the document by the document.
    if isinstance(exc, validators.AlreadyExistsError):
        form.add_error("name", exc)
    elif isinstance(exc, validators.LimitExceededError):
        form.add_error(None, exc)
    else:
        form.add_error(document_field, exc)


def _new_policy_document(
    form: PolicyCreateForm, generator: PolicyGenerator, identity: Identity
) -> str | None:
    """The document to create, or None while the form or the generator has errors."""
    valid = form.is_valid()
    if not form.uses_generator:
        return str(form.cleaned_data["document"]) if valid else None
    # The statements are checked even when the name is wrong: every error shows at once.
    generated = generator.is_valid()
    return generator.document(identity.arn) if valid and generated else None


@require_http_methods(["GET", "POST"])
@login_required
def policy_create(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope, identity = _identity(request, region, name)
    data = request.POST if request.method == "POST" else None
    generator = PolicyGenerator(data)
    # "Add statement" and the like only re-render the form: nothing to check yet.
    form = PolicyCreateForm(None if generator.edited else data, initial=_initial(data))
    document = None
    if data is not None and not generator.edited:
        document = _new_policy_document(form, generator, identity)
    if document is not None:
        try:
            operations.create_policy(
                identity, form.cleaned_data["name"], document, actor=actors.console(request.user)
            )
        except ValidationError as exc:
            _add_operation_error(form, exc, None if form.uses_generator else "document")
        else:
            messages.success(request, f"The policy {form.cleaned_data['name']} was created.")
            return _to_tab(identity)
    context = _context(scope, identity, form=form, generator=generator)
    return render(request, "identities/policy_create.html", context)


def _initial(data: Any) -> dict[str, Any]:
    # After an edit button, the form shows what was typed, unvalidated.
    return {key: data.get(key) for key in ("name", "mode", "document")} if data else {}


@require_GET
@login_required
def policy_detail(request: HttpRequest, region: str, name: str, policy: str) -> HttpResponse:
    scope, identity = _identity(request, region, name)
    row = get_object_or_404(identity.policies, name=policy)
    context = _context(scope, identity, policy=row, document=pretty(row.document))
    return render(request, "identities/policy_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def policy_edit(request: HttpRequest, region: str, name: str, policy: str) -> HttpResponse:
    scope, identity = _identity(request, region, name)
    row: IdentityPolicy = get_object_or_404(identity.policies, name=policy)
    form = PolicyEditForm(request.POST or None, initial={"document": pretty(row.document)})
    if request.method == "POST" and form.is_valid():
        try:
            operations.update_policy(
                identity,
                row.name,
                form.cleaned_data["document"],
                actor=actors.console(request.user),
            )
        except ValidationError as exc:
            _add_operation_error(form, exc, "document")
        else:
            messages.success(request, f"The policy {row.name} was saved.")
            return _to_tab(identity)
    context = _context(scope, identity, policy=row, form=form)
    return render(request, "identities/policy_edit.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def policy_delete(request: HttpRequest, region: str, name: str, policy: str) -> HttpResponse:
    scope, identity = _identity(request, region, name)
    row = get_object_or_404(identity.policies, name=policy)
    form = deletes.confirm_form(request, row.name)
    tab_url = reverse(
        "identities:tab_authorization", kwargs={"region": identity.region_id, "name": identity.name}
    )
    if form.is_valid():
        operations.delete_policy(identity, row.name, actor=actors.console(request.user))
        messages.success(request, f"The policy {row.name} was deleted.")
        return htmx_responses.redirect_after_post(request, tab_url)
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete {row.name}?",
        heading="Delete policy",
        warning=f"The accounts and users this policy allows can no longer send from "
        f"{identity.name} once it is deleted. This can't be undone.",
        cancel_url=tab_url,
        crumbs="identities/_breadcrumbs.html",
        current="Delete policy",
        **_context(scope, identity, policy=row),
    )
