"""Views of the verification app and the Account dashboard: the access matrix of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountRegion, Region
from identities.models import Identity, VerificationStatus
from verification.models import VerificationLink

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def identity(make_email: Callable[..., Identity]) -> Identity:
    return make_email("sender@example.com")


def resend_url(identity: Identity) -> str:
    return reverse(
        "verification:resend", kwargs={"region": identity.region_id, "name": identity.name}
    )


def status_url(identity: Identity) -> str:
    return reverse(
        "verification:mail_status", kwargs={"region": identity.region_id, "name": identity.name}
    )


# --- confirm (no login) -------------------------------------------------------------------------
def test_confirm_success_page(client: Client, identity: Identity) -> None:
    link = VerificationLink.issue(
        account=identity.account,
        region=identity.region,
        email_address=identity.name,
        identity=identity,
    )
    response = client.get(reverse("verification:confirm", kwargs={"token": link.token()}))
    assert response.status_code == 200
    assert b"Congratulations!" in response.content
    assert b"You have successfully verified an email address with sesconsole." in response.content
    identity.refresh_from_db()
    assert identity.verification_status == VerificationStatus.SUCCESS


def test_confirm_unknown_link_page(client: Client, db: None) -> None:
    response = client.get(reverse("verification:confirm", kwargs={"token": "not-a-token"}))
    assert response.status_code == 404
    assert b"This verification link is not valid." in response.content


def test_confirm_superseded_link_page(client: Client, identity: Identity) -> None:
    old = VerificationLink.issue(
        account=identity.account,
        region=identity.region,
        email_address=identity.name,
        identity=identity,
    )
    token = old.token()
    VerificationLink.issue(
        account=identity.account,
        region=identity.region,
        email_address=identity.name,
        identity=identity,
    )
    response = client.get(reverse("verification:confirm", kwargs={"token": token}))
    assert response.status_code == 410
    assert b"only the newest link works" in response.content


def test_confirm_redirects_only_to_the_template_urls(
    client: Client, identity: Identity, make_template: Callable[..., Any]
) -> None:
    template = make_template()
    link = VerificationLink.issue(
        account=identity.account, region=identity.region, email_address=identity.name,
        identity=identity, template=template,
    )  # fmt: skip
    url = reverse("verification:confirm", kwargs={"token": link.token()})
    response = client.get(url + "?next=https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == "https://www.example.com/verifysuccess"
    again = client.get(url)  # used: still lands on success, the address is verified
    assert again["Location"] == "https://www.example.com/verifysuccess"


# --- resend -----------------------------------------------------------------------------------
def test_resend_owner(owner_client: Client, identity: Identity) -> None:
    response = owner_client.post(resend_url(identity))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "identities:detail", kwargs={"region": identity.region_id, "name": identity.name}
    )
    assert VerificationLink.objects.filter(identity=identity).count() == 1


def test_resend_teammate_and_rate_limit_message(
    teammate_client: Client, identity: Identity
) -> None:
    teammate_client.post(resend_url(identity))
    response = teammate_client.post(resend_url(identity), follow=False)
    assert response.status_code == 302
    assert VerificationLink.objects.filter(identity=identity).count() == 1
    flashed = [str(m) for m in response.wsgi_request._messages]
    assert flashed[-1].startswith(
        "A verification email was sent to sender@example.com less than 60 seconds ago."
    )


def test_resend_htmx_returns_the_box(owner_client: Client, identity: Identity) -> None:
    response = owner_client.post(resend_url(identity), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="email-verification"')
    assert "A new verification email is on its way to sender@example.com." in html
    assert "Sending the verification email…" in html
    assert 'hx-trigger="every 3s"' in html  # polls until the mail is sent


def test_resend_of_a_domain_is_404(
    owner_client: Client, make_domain: Callable[..., Identity]
) -> None:
    domain = make_domain("example.com")
    assert owner_client.post(resend_url(domain)).status_code == 404


def test_mail_status_matrix(
    owner_client: Client, outsider_client: Client, client: Client, identity: Identity
) -> None:
    assert owner_client.get(status_url(identity), **HTMX).status_code == 200
    assert owner_client.get(status_url(identity)).status_code == 302  # not htmx: the page
    assert outsider_client.get(status_url(identity), **HTMX).status_code == 404
    assert client.get(status_url(identity), **HTMX).status_code == 302
    assert owner_client.post(status_url(identity), **HTMX).status_code == 405


# --- which identity applies? --------------------------------------------------------------------
def which_url(region: str = "us-east-1") -> str:
    return reverse("verification:which_identity", kwargs={"region": region})


def test_which_identity_page(owner_client: Client, make_domain: Callable[..., Identity]) -> None:
    make_domain("example.com").mark_verified()
    response = owner_client.get(which_url(), {"address": "user+x@mail.example.com"})
    assert response.status_code == 200
    assert "uses the settings of" in response.content.decode()
    empty = owner_client.get(which_url())
    assert empty.status_code == 200
    assert b"Look up" in empty.content


def test_which_identity_htmx_and_errors(owner_client: Client) -> None:
    response = owner_client.get(which_url(), {"address": "user@nowhere.example"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="which-lookup"')
    assert "No verified identity in US East (N. Virginia) covers" in html
    bad = owner_client.get(which_url(), {"address": "example.com"})
    assert "Enter a full email address with an @" in bad.content.decode()
    # With htmx, the error comes back in the swapped fragment, beside the field.
    bad_htmx = owner_client.get(which_url(), {"address": "example.com"}, **HTMX).content.decode()
    assert bad_htmx.lstrip().startswith('<div id="which-lookup"')
    assert "Enter a full email address with an @" in bad_htmx


def test_which_identity_outsider_sees_only_their_account(
    outsider_client: Client, make_domain: Callable[..., Identity]
) -> None:
    make_domain("example.com").mark_verified()
    response = outsider_client.get(which_url(), {"address": "a@example.com"})
    assert "No verified identity" in response.content.decode()


def test_which_identity_unknown_region_is_404(owner_client: Client) -> None:
    assert owner_client.get(which_url("xx-nowhere-1")).status_code == 404


# --- account dashboard ------------------------------------------------------------------------
def dashboard_url(region: str = "us-east-1") -> str:
    return reverse("account_dashboard", kwargs={"region": region})


def test_dashboard_shows_sandbox_and_requests_production(
    owner_client: Client, account: Account
) -> None:
    page = owner_client.get(dashboard_url())
    assert page.status_code == 200
    assert (
        "Your Amazon SES account is in the sandbox in US East (N. Virginia)."
        in page.content.decode()
    )
    assert "200 emails per 24-hour period" in page.content.decode()
    response = owner_client.post(
        dashboard_url(),
        {
            "mail_type": "TRANSACTIONAL", "website_url": "https://www.example.com",
            "use_case_description": "Receipts.", "contact_language": "EN",
            "additional_contacts": "ops@example.com, cto@example.com",
        },
    )  # fmt: skip
    assert response.status_code == 302
    state = AccountRegion.objects.get(account=account, region_id="us-east-1")
    assert state.review_status == AccountRegion.ReviewStatus.PENDING
    assert state.additional_contact_email_addresses == ["ops@example.com", "cto@example.com"]
    assert not state.production_access_enabled  # an operator grants it in admin


def test_dashboard_form_errors(teammate_client: Client) -> None:
    response = teammate_client.post(dashboard_url(), {"mail_type": "SPAM", "website_url": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice. SPAM is not one of the available choices." in html


def test_dashboard_production_state(owner_client: Client, account: Account, region: Region) -> None:
    account.region_settings(region).grant_production_access()
    html = owner_client.get(dashboard_url()).content.decode()
    assert "Your account has production access in US East (N. Virginia)" in html
    assert "Request production access" not in html


def test_dashboard_outsider_sees_their_own_account_and_unknown_region_is_404(
    outsider_client: Client, owner_client: Client
) -> None:
    assert outsider_client.get(dashboard_url()).status_code == 200  # their own account's state
    assert owner_client.get(dashboard_url("xx-nowhere-1")).status_code == 404


def test_identity_page_shows_mail_status_and_resend(
    owner_client: Client, identity: Identity, make_domain: Callable[..., Identity]
) -> None:
    VerificationLink.issue(
        account=identity.account,
        region=identity.region,
        email_address=identity.name,
        identity=identity,
    )
    detail = reverse(
        "identities:detail", kwargs={"region": identity.region_id, "name": identity.name}
    )
    html = owner_client.get(detail).content.decode()
    assert "Sending the verification email…" in html
    assert f'action="{resend_url(identity)}"' in html
    domain = make_domain("example.com")
    domain_html = owner_client.get(
        reverse("identities:detail", kwargs={"region": "us-east-1", "name": "example.com"})
    ).content.decode()
    assert "email-verification" not in domain_html
    assert domain.name in domain_html
