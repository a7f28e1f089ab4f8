from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .access import console_scope
from .forms import ProductionAccessForm, RateLimitedAuthenticationForm, client_address
from .models import AccountRegion, LoginAttempt, Region
from .regions import DEFAULT_REGION


class LoginView(auth_views.LoginView):
    """Django's sign-in page with limits (accounts.models.LoginAttempt): 10 failures per user
    name and address in 15 minutes, then 429 until the window has passed; per user name across
    addresses, a bounded back-off. The form counts each attempt before checking its password;
    a success clears the pair's count."""

    form_class = RateLimitedAuthenticationForm

    # Typed as the base form: django-stubs fixes LoginView's form type to AuthenticationForm.
    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        LoginAttempt.clear(form.cleaned_data.get("username") or "", client_address(self.request))
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
        return response


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
    return redirect(same_page_in_region(request.GET.get("next", ""), code))


# A page about one object (an identity, a template, a configuration set) has no twin in
# another region: switching from it lands on the list it belongs to.
SECTION_LISTS = {"templates_app": "templates_app:list", "identities": "identities:list"}


def same_page_in_region(path: str, region: str) -> str:
    """Where the region selector goes from the page at `path`: the same page in `region` when
    it is a region-wide page (a list, the dashboard, a create form), else that page's list.
    Only reversed URLs come out, never `path` itself, so `next` can't redirect elsewhere."""
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is None or "region" not in match.kwargs:
        return reverse("identities:list", kwargs={"region": region})
    if set(match.kwargs) == {"region"}:
        return reverse(match.view_name, kwargs={"region": region})
    if (match.url_name or "").startswith("configuration_set"):
        return reverse("identities:configuration_sets", kwargs={"region": region})
    view = SECTION_LISTS.get(match.namespace, "identities:list")
    return reverse(view, kwargs={"region": region})


def _reviews_pending(request: HttpRequest) -> int | None:
    """Operators see how many production access requests wait for them (any account)."""
    if not request.user.is_staff:
        return None
    return AccountRegion.objects.filter(review_status=AccountRegion.ReviewStatus.PENDING).count()


@require_http_methods(["GET", "POST"])
@login_required
def account_dashboard(request: HttpRequest, region: str) -> HttpResponse:
    """Sandbox or production in this region, the quotas, and "Request production access"."""
    scope = console_scope(request, region)
    state = scope.account.region_settings(scope.region)
    form = ProductionAccessForm(request.POST or None, initial={"contact_language": "EN"})
    if request.method == "POST" and form.is_valid() and form.submit(state):
        messages.success(
            request,
            f"Your request for production access in {scope.region.name} was sent for review.",
        )
        return redirect("account_dashboard", region=scope.region.code)
    context = {
        "region": scope.region,
        "state": state,
        "form": form,
        "quota": state.send_quota(),
        "nav": "account",
        "reviews_pending": _reviews_pending(request),
    }
    return render(request, "accounts/dashboard.html", context)


@require_POST
@login_required
def withdraw_production_access(request: HttpRequest, region: str) -> HttpResponse:
    """Take back a production access request still under review."""
    scope = console_scope(request, region)
    state = scope.account.region_settings(scope.region)
    try:
        state.withdraw_production_access_request()
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request, f"Your production access request in {scope.region.name} was withdrawn."
        )
    return redirect("account_dashboard", region=scope.region.code)
