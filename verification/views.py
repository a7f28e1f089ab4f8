"""The verification link landing, Resend and the mail status box, and the "Which identity
applies?" lookup. The mails themselves are on the Sent messages page (sending.views)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import console_scope
from identities.hierarchy import explain
from identities.models import Identity, IdentityType

from . import flows
from .forms import WhichIdentityForm
from .models import LinkOutcome
from .templatetags.verification_tags import box_context


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


FAILURE_REASONS = {
    LinkOutcome.EXPIRED: (
        "This verification link has expired: links work for 24 hours after the email is sent. "
        "To get a new link, open the identity in the console and choose Resend, or ask the "
        "sender to send a new verification email."
    ),
    LinkOutcome.SUPERSEDED: (
        "A newer verification email was sent to this address, and only the newest link works. "
        "Open the most recent verification email and use its link."
    ),
    LinkOutcome.ALREADY_USED: (
        "This verification link has already been used, and the address is not verified now "
        "(its identity may have been deleted). Create the identity again, or choose Resend to "
        "get a new link."
    ),
    LinkOutcome.UNKNOWN: (
        "This verification link is not valid. Check that you opened the whole link from the "
        "email; if it still fails, choose Resend in the console to get a new one."
    ),
}


@require_GET
@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """No login: whoever reads the mailbox clicks, and may have no console account."""
    result = flows.confirm(token)
    if result.redirect_url:
        # Only a URL stored on the link (validated as http(s) when the template was saved),
        # never one from the request: no open redirect.
        return HttpResponseRedirect(result.redirect_url)
    if result.succeeded:
        return render(request, "verification/confirmed.html", {"result": result})
    reason = result.problem or FAILURE_REASONS[result.outcome]
    status = 404 if result.outcome is LinkOutcome.UNKNOWN and not result.problem else 410
    return render(request, "verification/confirm_failed.html", {"reason": reason}, status=status)


def _email_identity(request: HttpRequest, region: str, name: str) -> Identity:
    scope = console_scope(request, region)
    return get_object_or_404(
        Identity.objects.in_scope(scope.account, scope.region).select_related("region"),
        name=name,
        identity_type=IdentityType.EMAIL_ADDRESS,
    )


@require_POST
@login_required
def resend(request: HttpRequest, region: str, name: str) -> HttpResponse:
    identity = _email_identity(request, region, name)
    try:
        flows.resend_verification_email(identity, actor=request.user.get_username())
    except ValidationError as exc:
        error, notice = exc.messages[0], ""
    else:
        error, notice = "", f"A new verification email is on its way to {identity.name}."
    if _htmx(request):
        context = box_context(identity, error=error, notice=notice)
        return render(request, "verification/_email_verification.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("identities:detail", region=identity.region_id, name=identity.name)


@require_GET
@login_required
def mail_status(request: HttpRequest, region: str, name: str) -> HttpResponse:
    """The identity page's mail status box, polled by htmx while the mail is on its way."""
    identity = _email_identity(request, region, name)
    if not _htmx(request):
        return redirect("identities:detail", region=identity.region_id, name=identity.name)
    return render(request, "verification/_email_verification.html", box_context(identity))


@require_GET
@login_required
def which_identity(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    form = WhichIdentityForm(request.GET if "address" in request.GET else None)
    lookup = (
        explain(scope.account, scope.region, form.cleaned_data["address"])
        if form.is_valid()
        else None
    )
    context = {"form": form, "lookup": lookup, "region": scope.region, "nav": "which_identity"}
    if _htmx(request):
        return render(request, "verification/which_identity.html#lookup", context)
    return render(request, "verification/which_identity.html", context)
