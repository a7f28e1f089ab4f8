"""axe-core (axe-playwright-python, run in Debian's chromium) over every console page: no
serious or critical violation. Also: the wizard and a delete with the keyboard alone, and
the main pages at 390 px without sideways scrolling."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from accounts.models import AccessKey, Account, Region
from identities.models import ConfigurationSet, DnsServer, Identity, IdentityPolicy
from sending.models import SentMessage
from templates_app.models import CustomVerificationEmailTemplate
from tests.browser.test_console_smoke import sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser

AXE = Axe()
SERIOUS = {"serious", "critical"}


def serious_violations(page: Any) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
def console_pages(
    account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> list[str]:
    """One URL of every console page, with an object of each kind to show."""
    domain = make_domain("example.com", mail_from_domain="mail.example.com")
    email = make_email("news@example.com")
    ConfigurationSet.objects.create(account=account, region=region, name="transactional")
    IdentityPolicy.objects.create(
        identity=domain,
        name="AllowPartner",
        document='{"Version": "2012-10-17", "Statement": []}',
    )
    template = CustomVerificationEmailTemplate.objects.create(
        account=account,
        region=region,
        name="welcome",
        from_email_address="news@example.com",
        subject="Please verify",
        content="<p>Hello</p>",
        success_redirection_url="https://example.com/ok",
        failure_redirection_url="https://example.com/no",
    )
    message = SentMessage.objects.create(
        account=account,
        region=region,
        message_id="verification-mail",
        operation="VerificationEmail",
        from_address="no-reply@sesconsole.localhost",
        envelope_from="no-reply@sesconsole.localhost",
        recipients=["news@example.com"],
        recipients_text="news@example.com",
        subject="Verify",
        mime=b"Subject: Verify\r\nContent-Type: text/html\r\n\r\n"
        b'<p>Hello <a href="http://127.0.0.1/verify/x/">verify</a></p>\r\n',
    )
    key, _secret = AccessKey.issue(account, description="ci")
    server = DnsServer(account=account, zone="example.com", server="192.0.2.1", key_name="k")
    server.set_secret("c2VjcmV0")
    server.save()
    r = region.code
    identity = {"region": r, "name": domain.name}
    policy = {**identity, "policy": "AllowPartner"}
    return [
        reverse("identities:list", kwargs={"region": r}),
        reverse("identities:create", kwargs={"region": r}),
        reverse("identities:detail", kwargs=identity),
        reverse("identities:tab_authorization", kwargs=identity),
        reverse("identities:tab_configuration_set", kwargs=identity),
        reverse("identities:tab_tags", kwargs=identity),
        reverse("identities:tab_notifications", kwargs=identity),
        reverse("identities:detail", kwargs={"region": r, "name": email.name}),
        reverse("identities:edit_dkim", kwargs=identity),
        reverse("identities:edit_mail_from", kwargs=identity),
        reverse("identities:edit_configuration_set", kwargs=identity),
        reverse("identities:edit_tags", kwargs=identity),
        reverse("identities:edit_feedback", kwargs=identity),
        reverse("identities:delete", kwargs=identity),
        reverse("identities:policy_create", kwargs=identity),
        reverse("identities:policy_detail", kwargs=policy),
        reverse("identities:policy_edit", kwargs=policy),
        reverse("identities:policy_delete", kwargs=policy),
        reverse("identities:configuration_sets", kwargs={"region": r}),
        reverse("identities:configuration_set_create", kwargs={"region": r}),
        reverse(
            "identities:configuration_set_detail", kwargs={"region": r, "name": "transactional"}
        ),
        reverse(
            "identities:configuration_set_delete", kwargs={"region": r, "name": "transactional"}
        ),
        reverse("templates_app:list", kwargs={"region": r}),
        reverse("templates_app:create", kwargs={"region": r}),
        reverse("templates_app:detail", kwargs={"region": r, "name": template.name}),
        reverse("templates_app:edit", kwargs={"region": r, "name": template.name}),
        reverse("templates_app:delete", kwargs={"region": r, "name": template.name}),
        reverse("verification:which_identity", kwargs={"region": r}) + "?address=a@example.com",
        reverse("account_dashboard", kwargs={"region": r}),
        reverse("access_keys"),
        reverse("access_key_delete", kwargs={"access_key_id": key.access_key_id}),
        reverse("identities:dns_servers"),
        reverse("identities:dns_server_delete", kwargs={"pk": server.pk}),
        reverse("identities:dns_server_create"),
        reverse("sending:list", kwargs={"region": r}) + "?kind=verification",
        reverse("sending:message", kwargs={"region": r, "message_id": message.message_id}),
        "/no/such/page/",
    ]


def test_no_serious_axe_violations_on_any_console_page(
    page: Any, live_server: Any, transactional_db: None, owner: Any, console_pages: list[str]
) -> None:
    page.goto(live_server.url + reverse("login"))
    problems = {"/login/": serious_violations(page)}
    sign_in(page, live_server, owner.username)
    for path in console_pages:
        page.goto(live_server.url + path)
        problems[path] = serious_violations(page)
    page.goto(live_server.url + "/access-keys/")
    page.get_by_role("button", name="Create access key").click()
    problems["access key created"] = serious_violations(page)
    found = {path: found for path, found in problems.items() if found}
    assert found == {}, "\n".join(f"{path}: {v}" for path, items in found.items() for v in items)


def test_wizard_and_delete_with_the_keyboard_alone(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region
) -> None:
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("identities:create", kwargs={"region": region.code}))
    # Choose Domain with the keyboard, Tab on to its name, type it, submit with Enter.
    page.get_by_role("radio", name="Domain").focus()
    page.keyboard.press("Space")
    assert page.get_by_role("radio", name="Domain").is_checked()
    visited = []
    for _ in range(10):  # the next stops in tab order, up to the domain field
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if visited[-1] == "id_domain":
            break
    assert visited[-1] == "id_domain", visited
    page.keyboard.type("keyboard.example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**/verified-identities/keyboard.example.com/")

    page.goto(
        live_server.url
        + reverse(
            "identities:delete",
            kwargs={"region": region.code, "name": "keyboard.example.com"},
        )
    )
    page.locator("#id_confirm").focus()
    page.keyboard.type("keyboard.example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**/us-east-1/verified-identities/")
    assert not Identity.objects.filter(name="keyboard.example.com").exists()


def test_pages_fit_390_pixels(
    page: Any, live_server: Any, transactional_db: None, owner: Any, console_pages: list[str]
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, owner.username)
    too_wide = []
    for path in console_pages:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide.append((path, width))
    assert too_wide == [], too_wide
