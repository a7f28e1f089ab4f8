"""Production access: one set of rules (AccountRegion.request_production_access) behind the
console's form and the API's PutAccountDetails, and withdrawing a pending request (console
only: the SES API has no such operation)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountRegion, Region

FORM = {
    "mail_type": "TRANSACTIONAL",
    "website_url": "https://example.com/",
    "use_case_description": "Receipts.",
    "contact_language": "EN",
    "additional_contacts": "ops@example.com",
}
DASHBOARD = reverse("account_dashboard", kwargs={"region": "us-east-1"})
WITHDRAW = reverse("withdraw_production_access", kwargs={"region": "us-east-1"})


def state(account: Account, region: Region) -> AccountRegion:
    return account.region_settings(region)


def flashes(response: Any) -> list[str]:
    """The newest message (earlier redirects leave theirs queued until a page renders)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"website_url": "ftp://example.com/"},
            {
                "website_url": [
                    "The website URL must be an http:// or https:// address, for example "
                    "https://example.com."
                ]
            },
        ),
        (
            {
                "additional_contacts": "a@x.example, b@x.example, c@x.example, d@x.example, e@x.example"
            },
            {"additional_contacts": ["Enter at most 4 additional contacts; you entered 5."]},
        ),
        (
            {"additional_contacts": "ops@example.com, not an address"},
            {
                "additional_contacts": [
                    "“not an address” is not an email address. Enter addresses such as "
                    "ops@example.com, separated by commas."
                ]
            },
        ),
    ],
    ids=["ftp-url", "five-contacts", "bad-contact"],
)
def test_console_uses_the_models_rules(
    owner_client: Client, account: Account, region: Region, changes: dict[str, str], errors: Any
) -> None:
    response = owner_client.post(DASHBOARD, {**FORM, **changes})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert state(account, region).review_status == ""


def test_console_refuses_a_second_request_while_one_is_pending(
    owner_client: Client, account: Account, region: Region
) -> None:
    assert owner_client.post(DASHBOARD, FORM).status_code == 302
    case = state(account, region).review_case_id
    response = owner_client.post(DASHBOARD, {**FORM, "website_url": "https://other.example/"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"A production access request for us-east-1 is already under review (case {case}). "
        "Wait for the decision, or withdraw it before sending another."
    ]
    row = state(account, region)
    assert (row.website_url, row.review_case_id) == ("https://example.com/", case)
    assert "Withdraw request" in response.content.decode()


def test_withdraw_then_request_again(
    owner_client: Client, teammate_client: Client, account: Account, region: Region
) -> None:
    owner_client.post(DASHBOARD, FORM)
    response = teammate_client.post(WITHDRAW)
    assert response.url == DASHBOARD
    assert flashes(response) == [
        "Your production access request in US East (N. Virginia) was withdrawn."
    ]
    row = state(account, region)
    assert (row.review_status, row.review_case_id, row.requested_at) == ("", "", None)
    again = teammate_client.post(WITHDRAW)
    assert flashes(again) == ["There is no production access request under review to withdraw."]
    assert owner_client.post(DASHBOARD, FORM).status_code == 302
    assert state(account, region).review_status == "PENDING"


def test_withdraw_is_the_accounts_own(
    owner_client: Client, outsider_client: Client, client: Client, account: Account, region: Region
) -> None:
    owner_client.post(DASHBOARD, FORM)
    outsider_client.post(WITHDRAW)  # withdraws nothing of ours: the outsider's own account
    assert state(account, region).review_status == "PENDING"
    assert client.post(WITHDRAW).status_code == 302  # to the login page
    assert state(account, region).review_status == "PENDING"
    assert owner_client.get(WITHDRAW).status_code == 405


def test_granted_account_has_nothing_to_withdraw(
    owner_client: Client, account: Account, region: Region
) -> None:
    owner_client.post(DASHBOARD, FORM)
    state(account, region).grant_production_access()
    response = owner_client.post(WITHDRAW)
    assert flashes(response) == ["There is no production access request under review to withdraw."]
    assert state(account, region).production_access_enabled is True
