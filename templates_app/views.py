"""Console pages for custom verification email templates (SES offers only the API, FAQ Q7)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import Scope, console_scope
from identities.forms import TagsForm
from sesconsole import deletes, htmx_responses, listing, validators
from sesconsole.sandbox import sandboxed_html
from verification.flows import send_custom_verification_email

from . import rules
from .forms import SendTestForm, TemplateFilterForm, TemplateForm
from .models import MAX_TEMPLATES_PER_REGION, CustomVerificationEmailTemplate


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _template(
    request: HttpRequest, region: str, name: str
) -> tuple[Scope, CustomVerificationEmailTemplate]:
    scope = console_scope(request, region)
    try:
        return scope, rules.get_template(scope.account, scope.region, name)
    except validators.NotFoundError as exc:
        # Not the API's sentence, which repeats the name: the console's 404 page must not
        # echo a name from the URL (it could be another account's template).
        raise Http404(
            f"There is no such custom verification email template in {scope.region.code}. "
            "Check the name, or create the template first."
        ) from exc


def _context(scope: Scope, **extra: Any) -> dict[str, Any]:
    return {"region": scope.region, "nav": "templates", **extra}


@require_GET
@login_required
def template_list(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    filters = TemplateFilterForm(request.GET)
    templates = CustomVerificationEmailTemplate.objects.filter(
        account=scope.account, region=scope.region
    ).only("name", "from_email_address", "subject", "updated_at")
    total = templates.count()  # against the region's limit, whatever the filter
    if q := filters.value("q"):
        templates = templates.filter(name__icontains=q)
    production = scope.account.region_settings(scope.region).production_access_enabled
    context = _context(
        scope,
        filters=filters,
        total=total,
        limit=MAX_TEMPLATES_PER_REGION,
        production=production,
        **listing.paginate(request, templates.order_by("name"), "templates"),
    )
    template = "templates_app/list.html#results" if _htmx(request) else "templates_app/list.html"
    return render(request, template, context)


def _save(request: HttpRequest, form: TemplateForm) -> CustomVerificationEmailTemplate | None:
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        template = form.save()
    except ValidationError as exc:  # a concurrent create took the name or the last slot
        form.add_error(None, exc)
        return None
    messages.success(request, f"The template {template.name} was saved.")
    return template


@require_http_methods(["GET", "POST"])
@login_required
def create(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    form = TemplateForm(request.POST or None, account=scope.account, region=scope.region)
    template = _save(request, form)
    if template is not None:
        return redirect("templates_app:detail", region=region, name=template.name)
    return render(request, "templates_app/form.html", _context(scope, form=form, template=None))


@require_http_methods(["GET", "POST"])
@login_required
def edit(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope, template = _template(request, region, name)
    form = TemplateForm(
        request.POST or None, account=scope.account, region=scope.region, instance=template
    )
    saved = _save(request, form)
    if saved is not None:
        return redirect("templates_app:detail", region=region, name=saved.name)
    return render(request, "templates_app/form.html", _context(scope, form=form, template=template))


@require_http_methods(["GET", "POST"])
@login_required
def edit_tags(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """Manage tags: the rows replace the template's tags (TagResource's tags, as in SES)."""
    scope, template = _template(request, region, name)
    form = TagsForm(request.POST if request.method == "POST" else None, tagged=template)
    if form.is_valid():
        tags = rules.set_tags(template, [(t.key, t.value) for t in form.cleaned_data["tags"]])
        messages.success(request, f"Tags saved: {len(tags)} tag{'' if len(tags) == 1 else 's'}.")
        return redirect("templates_app:detail", region=region, name=template.name)
    context = _context(scope, form=form, template=template)
    if _htmx(request):
        return render(request, "templates_app/edit_tags.html#form", context)
    return render(request, "templates_app/edit_tags.html", context)


def _detail_context(
    scope: Scope, template: CustomVerificationEmailTemplate, form: SendTestForm
) -> dict[str, Any]:
    # The preview itself is its own document (the preview view); here only whether it fails.
    # Both read what was sanitised when the content was saved.
    tags = list(template.tags.all())
    return _context(
        scope, template=template, preview_error=template.preview_error, form=form, tags=tags
    )


@require_GET
@login_required
def detail(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope, template = _template(request, region, name)
    return render(
        request, "templates_app/detail.html", _detail_context(scope, template, SendTestForm())
    )


@require_GET
@login_required
def preview(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """The cleaned template as a document of its own, for the detail page's sandboxed iframe."""
    _scope, template = _template(request, region, name)
    body = template.preview_html or f"<p>{escape(template.preview_error)}</p>"
    return sandboxed_html(body)


@require_POST
@login_required
def send_test(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope, template = _template(request, region, name)
    form = SendTestForm(request.POST)
    sent = ""
    if form.is_valid():
        address = form.cleaned_data["email_address"]
        try:
            message_id = send_custom_verification_email(
                scope.account, scope.region, address, template.name
            )
        except ValidationError as exc:
            form.add_error("email_address", exc)
        else:
            sent = f"The verification email is on its way to {address} (message ID {message_id})."
    if _htmx(request):
        context = _context(scope, template=template, form=form, sent=sent)
        return render(request, "templates_app/detail.html#send_test", context)
    if sent:
        messages.success(request, sent)
        return redirect("templates_app:detail", region=region, name=name)
    return render(
        request, "templates_app/detail.html", _detail_context(scope, template, form), status=400
    )


@require_http_methods(["GET", "POST"])
@login_required
def delete(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope, template = _template(request, region, name)
    form = deletes.confirm_form(request, template.name)
    if form.is_valid():
        rules.delete_template(template)
        messages.success(request, f"The template {name} was deleted.")
        return htmx_responses.redirect_after_post(
            request, reverse("templates_app:list", kwargs={"region": region})
        )
    return deletes.confirm_page(
        request,
        form,
        title=f"Delete {template.name}?",
        heading="Delete template",
        warning="Verification emails already sent with this template keep working; new ones "
        "can't use it. This can't be undone.",
        cancel_url=reverse("templates_app:detail", kwargs={"region": region, "name": name}),
        crumbs="templates_app/_breadcrumbs.html",
        current="Delete",
        **_context(scope, template=template),
    )
