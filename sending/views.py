"""Console pages: Send test email (identity page), Sent messages, one message, its .eml."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import actors
from accounts.access import Scope, console_scope
from accounts.regions import DEFAULT_REGION
from identities.models import ConfigurationSet, Identity
from sesconsole import listing
from sesconsole.sandbox import sandboxed_html

from . import inspect
from .errors import SendRefused
from .forms import KIND_VERIFICATION, SentFilterForm, TestEmailForm
from .models import SentMessage
from .operations import send


def _message(request: HttpRequest, region: str, message_id: str) -> tuple[Scope, SentMessage]:
    scope = console_scope(request, region)
    found = get_object_or_404(
        SentMessage.objects.in_scope(scope.account, scope.region), message_id=message_id
    )
    return scope, found


@require_http_methods(["GET", "POST"])
@login_required
def send_test_email(request: HttpRequest, region: str, name: str) -> HttpResponse:
    scope = console_scope(request, region)
    identity = get_object_or_404(Identity.objects.in_scope(scope.account, scope.region), name=name)
    sets = ConfigurationSet.objects.filter(account=scope.account, region=scope.region)
    form = TestEmailForm(
        request.POST or None,
        identity=identity,
        set_names=list(sets.values_list("name", flat=True)),
        initial={"local_part": "sender", "subject": "Amazon SES test"},
    )
    if request.method == "POST" and form.is_valid():
        outgoing = form.outgoing(scope.account, scope.region, actors.console(request.user))  # type: ignore[arg-type]
        try:
            sent = send(outgoing)
        except SendRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Your test email was accepted: message {sent.message_id}.")
            return redirect("sending:message", region=scope.region.code, message_id=sent.message_id)
    context = {"form": form, "identity": identity, "region": scope.region, "nav": "identities"}
    return render(request, "sending/send_test_email.html", context)


@require_GET
@login_required
def sent_messages(request: HttpRequest, region: str) -> HttpResponse:
    """Newest first, keyset-paginated on (accepted_at, id): one indexed range read per page,
    however many messages the region holds."""
    scope = console_scope(request, region)
    filters = SentFilterForm(request.GET)
    queryset = SentMessage.objects.in_scope(scope.account, scope.region)
    if filters.is_valid():
        queryset = filters.filter(queryset)
    size = listing.page_size(request, "sent_messages")
    cursor = _cursor(request.GET.get("before", ""))
    if cursor is not None:
        at, pk = cursor
        # `accepted_at <= at` bounds the index scan; the OR only breaks ties within it (as one
        # OR it was a filter: 23 ms instead of 0.1 ms for a page 50,000 rows deep).
        queryset = queryset.filter(accepted_at__lte=at).filter(Q(accepted_at__lt=at) | Q(pk__lt=pk))
    rows = list(
        queryset.order_by("-accepted_at", "-id").only(
            "message_id", "accepted_at", "from_address", "recipients_text", "subject", "status",
            "configuration_set_name", "operation",
        )[: size + 1]
    )  # fmt: skip
    older = rows[size] if len(rows) > size else None
    query = request.GET.copy()
    query.pop("before", None)
    if older is not None:
        last = rows[size - 1]
        query["before"] = f"{last.accepted_at.isoformat()}|{last.pk}"
    context = {
        "rows": rows[:size],
        "page_sizes": listing.PAGE_SIZES,
        "page_size": size,
        "filters": filters,
        "older_query": query.urlencode() if older is not None else "",
        "is_first_page": cursor is None,
        "region": scope.region,
        "nav": "sent_messages",
    }
    template = "sending/sent_messages.html"
    if getattr(request, "htmx", False):
        template += "#results"
    return render(request, template, context)


@require_GET
@login_required
def mailbox(request: HttpRequest) -> HttpResponse:
    """The old Mailbox pages (/mailbox/, /mailbox/<pk>/...): verification mails are sent
    messages now, listed on the Sent messages page of the region the user last chose."""
    region = request.session.get("region", DEFAULT_REGION)
    list_url = reverse("sending:list", kwargs={"region": region})
    return redirect(f"{list_url}?kind={KIND_VERIFICATION}", permanent=True)


def _cursor(value: str) -> tuple[datetime, int] | None:
    at, _, pk = value.partition("|")
    try:
        return datetime.fromisoformat(at), int(pk)
    except ValueError:
        return None


@require_GET
@login_required
def message(request: HttpRequest, region: str, message_id: str) -> HttpResponse:
    scope, sent = _message(request, region, message_id)
    context = {
        "message": sent,
        "parts": inspect.parts(sent),
        "dkim_result": inspect.dkim_result(sent),
        "region": scope.region,
        "nav": "sent_messages",
    }
    return render(request, "sending/message.html", context)


@require_GET
@login_required
def message_html(request: HttpRequest, region: str, message_id: str) -> HttpResponse:
    """The HTML body as a document of its own for a sandboxed iframe: no script can run and
    nothing remote but images loads (sesconsole.sandbox)."""
    _, sent = _message(request, region, message_id)
    html = inspect.parts(sent).html
    if not html:
        raise Http404("This message has no HTML body.")
    return sandboxed_html('<base target="_blank">' + html, sandbox_flags="allow-popups")


@require_GET
@login_required
def message_eml(request: HttpRequest, region: str, message_id: str) -> HttpResponse:
    _, sent = _message(request, region, message_id)
    response = HttpResponse(sent.raw_as_sent, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="{sent.message_id}.eml"'
    return response
