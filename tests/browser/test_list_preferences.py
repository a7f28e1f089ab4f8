"""In a real browser: every list page keeps its filters and page size in the URL (htmx pushes
it as they change; a reload or a shared link shows the same list), and the page size is
remembered for the list."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import AccessKey, Account, Region
from identities import provisioning
from tests.browser.test_console_smoke import sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_configuration_set_filter_and_page_size_are_kept_in_the_url(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    account: Account,
    region: Region,
) -> None:
    for i in range(12):
        provisioning.create_configuration_set(account, region, f"set-{i:02}")
    provisioning.create_configuration_set(account, region, "other")
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/configuration-sets/")
    rows = page.locator("#set-results tbody tr")
    expect(rows).to_have_count(13)

    page.select_option("#id_size", "10")
    expect(rows).to_have_count(10)
    page.fill("#id_q", "set-")
    page.wait_for_url("**/configuration-sets/?q=set-&size=10")
    expect(page.locator("#set-count")).to_have_text("(12)")
    page.get_by_role("link", name="Page 2").click()
    expect(rows).to_have_count(2)

    page.reload()  # the URL alone shows the same page
    expect(rows).to_have_count(2)
    assert page.input_value("#id_q") == "set-"
    page.goto(live_server.url + "/us-east-1/configuration-sets/")  # the size is remembered
    expect(rows).to_have_count(10)


def test_access_key_status_filter_without_javascript(
    browser: Any, live_server: Any, transactional_db: None, owner: Any, account: Account
) -> None:
    AccessKey.issue(account, description="active")
    inactive, _ = AccessKey.issue(account, description="inactive")
    inactive.deactivate()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/access-keys/")
    page.select_option("#id_status", "Inactive")
    page.get_by_role("button", name="Apply filters").click()
    assert page.url.endswith("/access-keys/?q=&status=Inactive&size=50")
    expect(page.locator("#key-results tbody tr")).to_have_count(1)
    expect(page.locator("#key-results")).to_contain_text(inactive.access_key_id)
    context.close()
