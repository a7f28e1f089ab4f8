"""In a real browser, under the Content-Security-Policy: htmx and console.js still work, the
browser reports no violation, and the sandboxed previews keep their inline styles."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from identities.models import Identity
from templates_app.models import CustomVerificationEmailTemplate
from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def watch_console(page: Any) -> list[str]:
    """Console errors, CSP violations among them ("Refused to apply inline style …")."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"{m.text} {m.location}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems


def real(problems: list[str]) -> list[str]:
    # The console has no favicon; the browser asking for one is not a policy problem.
    return [p for p in problems if "/favicon.ico" not in p]


def sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verified-identities/")


def test_htmx_and_console_js_work_without_violations(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    region: Any,
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("alpha.example.com")
    make_domain("beta.example.com")
    problems = watch_console(page)
    sign_in(page, live_server, owner.username)
    assert page.evaluate("document.documentElement.classList.contains('js')")  # console.js ran
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    # htmx's indicator <style> was never injected.
    assert page.evaluate("document.querySelectorAll('style').length") == 0

    # The search box filters through htmx (hx-get on input), without a page load.
    page.evaluate("window.__sameDocument = true")
    page.fill("input[type=search]", "beta")
    # (Playwright's wait_for_function would need 'unsafe-eval': poll with a locator instead.)
    expect(page.locator("main")).not_to_contain_text("alpha.example.com")
    assert page.evaluate("window.__sameDocument") is True
    assert "beta.example.com" in page.inner_text("main")

    # The wizard hides the domain-only sections when Email address is chosen (console.js).
    page.goto(live_server.url + "/us-east-1/verified-identities/create/")
    page.get_by_role("radio", name="Email address").check()
    assert page.locator("#id_domain").is_hidden()
    assert real(problems) == []


def test_template_preview_keeps_inline_styles_in_its_sandbox(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Any
) -> None:
    CustomVerificationEmailTemplate.objects.create(
        account=owner.membership.account,
        region=region,
        name="Styled",
        from_email_address="noreply@example.com",
        subject="Confirm",
        content='<p id="hello" style="color: rgb(255, 0, 0)">Hello</p>',
        success_redirection_url="https://example.com/ok",
        failure_redirection_url="https://example.com/no",
    )
    problems = watch_console(page)
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/custom-verification-templates/Styled/")
    frame = page.frame_locator("iframe.mail-preview")
    paragraph = frame.locator("p")
    paragraph.wait_for()
    assert paragraph.evaluate("p => getComputedStyle(p).color") == "rgb(255, 0, 0)"
    assert real(problems) == []
