"""The local path to Verified: the operators' "Mark verified (skip DNS)" on the identity page,
DNS_AUTO_VERIFY's banner and its effect on already pending domains, the record rows of a
domain verified without DNS, and the operators' link to pending production access requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountRegion, Region
from identities import dns_check
from identities.dns_views import CONSOLE_SKIP_DNS_MESSAGE
from identities.models import Identity


def url(view: str, identity: Identity) -> str:
    return reverse(
        f"identities:{view}", kwargs={"region": identity.region_id, "name": identity.name}
    )


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("byo-shop.net")


BUTTON = "Mark verified (skip DNS)</button>"


def test_skip_dns_button_shown_to_staff_only(
    staff_client: Client, owner_client: Client, domain: Identity, settings: Any
) -> None:
    assert BUTTON in staff_client.get(url("detail", domain)).content.decode()
    assert BUTTON not in owner_client.get(url("detail", domain)).content.decode()
    settings.CONSOLE_VERIFY_WITHOUT_DNS = False
    assert BUTTON not in staff_client.get(url("detail", domain)).content.decode()


def test_skip_dns_verifies_and_records_history(staff_client: Client, domain: Identity) -> None:
    response = staff_client.post(url("verify_without_dns", domain))
    assert response.status_code == 302
    assert response["Location"] == url("detail", domain)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "byo-shop.net is verified without a DNS check. Its DNS records were not looked at; "
        "use Check now to check them again."
    ]
    domain.refresh_from_db()
    assert (domain.verification_status, domain.dkim_status) == ("SUCCESS", "SUCCESS")
    event = domain.events.order_by("-id").first()
    assert event is not None
    assert (event.message, event.actor) == (CONSOLE_SKIP_DNS_MESSAGE, "staff-member")
    page = staff_client.get(url("detail", domain)).content.decode()
    assert page.count("Not checked (verified without DNS)") == 3  # the three DKIM CNAMEs
    assert BUTTON not in page  # verified: nothing left to skip


def test_skip_dns_htmx_refreshes_the_page(staff_client: Client, domain: Identity) -> None:
    response = staff_client.post(url("verify_without_dns", domain), headers={"HX-Request": "true"})
    assert (response.status_code, response["HX-Refresh"]) == (200, "true")


def test_skip_dns_refused_to_members_who_are_not_staff(
    owner_client: Client, domain: Identity
) -> None:
    response = owner_client.post(url("verify_without_dns", domain))
    assert response.status_code == 403
    domain.refresh_from_db()
    assert domain.verification_status == "PENDING"


def test_skip_dns_refused_when_the_deployment_turns_it_off(
    staff_client: Client, domain: Identity, settings: Any
) -> None:
    settings.CONSOLE_VERIFY_WITHOUT_DNS = False
    assert staff_client.post(url("verify_without_dns", domain)).status_code == 403
    domain.refresh_from_db()
    assert domain.verification_status == "PENDING"


def test_skip_dns_other_account_is_404(
    outsider: Any, domain: Identity, make_domain: Callable[..., Identity]
) -> None:
    outsider.is_staff = True
    outsider.save()
    client = Client()
    client.force_login(outsider)
    assert client.post(url("verify_without_dns", domain)).status_code == 404
    domain.refresh_from_db()
    assert domain.verification_status == "PENDING"


def test_skip_dns_wrong_method_and_anonymous(staff_client: Client, domain: Identity) -> None:
    assert staff_client.get(url("verify_without_dns", domain)).status_code == 405
    response = Client().post(url("verify_without_dns", domain))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_records_of_a_checked_domain_are_not_marked_skipped(
    owner_client: Client, domain: Identity
) -> None:
    page = owner_client.get(url("detail", domain)).content.decode()
    assert "Not checked (verified without DNS)" not in page
    assert page.count("Not checked yet") == 3


# --- DNS_AUTO_VERIFY -------------------------------------------------------------------------
def test_auto_verify_banner_on_every_page_while_on(
    owner_client: Client, domain: Identity, settings: Any
) -> None:
    banner = "<strong>DNS_AUTO_VERIFY is on.</strong>"
    assert banner not in owner_client.get(url("detail", domain)).content.decode()
    settings.DNS_AUTO_VERIFY = True
    for page in (
        url("detail", domain),
        reverse("identities:list", kwargs={"region": "us-east-1"}),
        reverse("account_dashboard", kwargs={"region": "us-east-1"}),
    ):
        assert owner_client.get(page).content.decode().count(banner) == 1


def test_auto_verify_applies_to_domains_pending_before_it_was_on(
    domain: Identity, make_email: Callable[..., Identity], settings: Any
) -> None:
    assert domain.verification_status == "PENDING"
    email = make_email("news@example.org", mail_from_domain="bounce.example.org")
    settings.DNS_AUTO_VERIFY = True
    dns_check.run_checks([domain.pk, email.pk])
    domain.refresh_from_db()
    email.refresh_from_db()
    assert (domain.verification_status, domain.next_check_at) == ("SUCCESS", None)
    assert domain.verified_without_dns is True
    event = domain.events.order_by("-id").first()
    assert event is not None
    assert (event.message, event.actor) == (
        dns_check.AUTO_VERIFY_AT_CHECK_MESSAGE,
        "system (DNS_AUTO_VERIFY)",
    )
    # An email address is verified by its link, never by DNS_AUTO_VERIFY.
    assert (email.verification_status, email.events.count()) == ("PENDING", 1)


# --- production access ------------------------------------------------------------------------
def test_operator_dashboard_links_to_pending_production_access_requests(
    staff_client: Client, owner_client: Client, account: Account, region: Region
) -> None:
    dashboard = reverse("account_dashboard", kwargs={"region": region.code})
    admin_list = reverse("admin:accounts_accountregion_changelist")
    link = f'<a href="{admin_list}?review_status__exact=PENDING">'
    assert (
        "0 production access requests pending review"
        in staff_client.get(dashboard).content.decode()
    )
    state = account.region_settings(region)
    state.request_production_access(mail_type="TRANSACTIONAL", website_url="https://example.com")
    page = staff_client.get(dashboard).content.decode()
    assert "1 production access request pending review" in page
    assert page.count(link) == 1
    assert link not in owner_client.get(dashboard).content.decode()


def test_operator_grants_from_the_filtered_admin_list(
    staff_client: Client, account: Account, region: Region
) -> None:
    state = account.region_settings(region)
    state.request_production_access(mail_type="TRANSACTIONAL", website_url="https://example.com")
    admin_list = reverse("admin:accounts_accountregion_changelist")
    page = staff_client.get(admin_list + "?review_status__exact=PENDING").content.decode()
    assert "1 account region" in page
    response = staff_client.post(
        admin_list,
        {"action": "grant_production_access", "_selected_action": [state.pk]},
    )
    assert response.status_code == 302
    state = AccountRegion.objects.get(pk=state.pk)
    assert (state.production_access_enabled, state.review_status) == (True, "GRANTED")
