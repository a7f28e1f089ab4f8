"""In a real browser, the local path to Verified: an operator marks a domain verified without
DNS from its page, DNS_AUTO_VERIFY shows its banner, and a production access request goes from
the dashboard to the operator's filtered admin list and is granted there."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Account, AccountRegion, Region
from identities.models import Identity
from tests.browser.test_console_smoke import create_domain, sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_operator_marks_a_new_domain_verified_without_dns(
    page: Any, live_server: Any, transactional_db: None, staff_member: Any, region: Region
) -> None:
    sign_in(page, live_server, staff_member.username)
    create_domain(page, "byo-shop.net", "byo-shop.net")
    assert page.locator("#identity-status").inner_text().split() == ["◷", "Pending"]

    page.get_by_role("button", name="Mark verified (skip DNS)").click()
    page.get_by_text("byo-shop.net is verified without a DNS check.").wait_for()
    assert page.locator("#identity-status").inner_text().split() == ["✓", "Verified"]
    assert page.get_by_text("Not checked (verified without DNS)").count() == 3
    history = page.locator("tr", has_text="console action “Verify without DNS”")
    assert history.count() == 1
    assert history.locator("td").nth(2).inner_text() == "staff-member"
    assert page.get_by_role("button", name="Mark verified (skip DNS)").count() == 0
    assert Identity.objects.get(name="byo-shop.net").verification_status == "SUCCESS"


def test_auto_verify_banner_is_visible(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region, settings: Any
) -> None:
    settings.DNS_AUTO_VERIFY = True
    sign_in(page, live_server, owner.username)
    banner = page.get_by_role("note").filter(has_text="DNS_AUTO_VERIFY is on.")
    assert banner.is_visible()
    assert "pending ones at their next check" in banner.inner_text()


def test_production_access_request_reviewed_by_an_operator(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    staff_member: Any,
    account: Account,
    region: Region,
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="Account dashboard").click()
    page.get_by_role("radio", name="Transactional").check()
    page.fill("#id_website_url", "https://shop.example.com")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_text("was sent for review").wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, staff_member.username)
    page.get_by_role("link", name="Account dashboard").click()
    assert page.get_by_text("1 production access request pending review").is_visible()
    page.get_by_role("link", name="Review production access requests").click()
    page.wait_for_url("**" + reverse("admin:accounts_accountregion_changelist") + "*")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.first.locator("input[type=checkbox]").check()
    page.select_option("select[name=action]", "grant_production_access")
    page.get_by_role("button", name="Go").click()
    page.get_by_text("Granted production access to 1 account regions.").wait_for()
    state = AccountRegion.objects.get(account=account, region=region)
    assert (state.production_access_enabled, state.review_status) == (True, "GRANTED")
