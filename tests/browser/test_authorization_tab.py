"""In a real browser: the Authorization tab — create a policy with the generator, view it with
its copy button, switch to JSON for a second one, edit it, and delete it with the typed name."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from identities.models import Identity
from tests.browser.test_console_smoke import sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_policy_generator_view_edit_delete(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
) -> None:
    domain = make_domain("example.com")
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/verified-identities/example.com/")
    page.get_by_role("link", name="Authorization", exact=True).click()
    expect(page.get_by_text("No policies")).to_be_visible()
    page.get_by_role("link", name="Create policy").first.click()

    page.fill("#id_name", "AllowPartner")
    expect(page.locator("#id_document")).to_be_hidden()  # the generator is the default
    page.fill("#id_s0-principals", "222222222222")
    page.select_option("#id_s0-c0-key", "ses:FromAddress")
    page.select_option("#id_s0-c0-operator", "StringLike")
    page.fill("#id_s0-c0-values", "*@example.com")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator(".flashes")).to_contain_text("The policy AllowPartner was created.")
    document = json.loads(domain.policies.get().document)
    assert document["Statement"][0]["Principal"] == {"AWS": ["222222222222"]}
    assert document["Statement"][0]["Resource"] == domain.arn

    page.get_by_role("link", name="AllowPartner", exact=True).click()
    expect(page.locator("#policy-document")).to_contain_text('"ses:SendRawEmail"')
    assert page.get_by_role("button", name="Copy the policy document").is_visible()

    page.get_by_role("link", name="Edit").click()
    edited = json.dumps({**document, "Id": "edited"})
    page.fill("#id_document", edited)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flashes")).to_contain_text("The policy AllowPartner was saved.")
    assert domain.policies.get().document == edited

    page.get_by_role("link", name="Delete AllowPartner").click()
    delete = page.get_by_role("button", name="Delete")
    expect(delete).to_be_disabled()
    page.fill("#id_confirm", "AllowPartner")
    delete.click()
    expect(page.locator(".flashes")).to_contain_text("The policy AllowPartner was deleted.")
    assert not domain.policies.exists()


def test_custom_json_policy(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
) -> None:
    domain = make_domain("example.com")
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/verified-identities/example.com/authorization/create/")
    page.fill("#id_name", "Custom")
    page.get_by_role("radio", name="Custom policy (JSON)").check()
    expect(page.locator("#id_s0-principals")).to_be_hidden()
    page.fill("#id_document", "{broken")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator("main")).to_contain_text("The policy is not valid JSON")
    page.fill("#id_document", '{"Version": "2012-10-17", "Statement": []}')
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator(".flashes")).to_contain_text("The policy Custom was created.")
    assert domain.policies.get().name == "Custom"


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_policy_generator_with_several_statements_and_conditions(
    browser: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
    javascript: bool,
) -> None:
    domain = make_domain("example.com")
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/verified-identities/example.com/authorization/create/")
    page.fill("#id_name", "TwoStatements")
    page.fill("#id_s0-principals", "222222222222")
    page.select_option("#id_s0-c0-key", "ses:FromAddress")
    page.select_option("#id_s0-c0-operator", "StringLike")
    page.fill("#id_s0-c0-values", "*@example.com")
    page.get_by_role("button", name="Add condition to statement 1").click()
    expect(page.locator("#id_s0-c1-key")).to_be_focused()  # where the user goes on typing
    page.select_option("#id_s0-c1-key", "ses:Recipients")
    page.select_option("#id_s0-c1-operator", "ForAllValues:StringLike")
    page.fill("#id_s0-c1-values", "*@partner.example")
    page.get_by_role("button", name="Add statement").click()
    expect(page.locator("#id_s1-principals")).to_be_focused()
    page.get_by_role("radio", name="Deny").nth(1).check()
    page.fill("#id_s1-principals", "444444444444")
    page.get_by_role("button", name="Remove condition 1 of statement 2").click()
    expect(page.locator("#id_s1-c0-key")).to_have_count(0)
    assert page.input_value("#id_s0-c1-values") == "*@partner.example"  # kept
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator(".flashes")).to_contain_text("The policy TwoStatements was created.")
    statements = json.loads(domain.policies.get().document)["Statement"]
    assert [s["Effect"] for s in statements] == ["Allow", "Deny"]
    assert statements[0]["Condition"] == {
        "StringLike": {"ses:FromAddress": ["*@example.com"]},
        "ForAllValues:StringLike": {"ses:Recipients": ["*@partner.example"]},
    }
    assert "Condition" not in statements[1]
    context.close()
