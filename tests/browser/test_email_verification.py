"""In a real browser: create an email identity, open the Mailbox, click the link, see Verified."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse

from identities import provisioning
from identities.models import IdentityType
from tests.conftest import PASSWORD
from tests.verification.conftest import eager_celery  # noqa: F401  (.delay runs in-process)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_verify_an_email_identity_through_the_mailbox(
    page: Any, live_server: Any, settings: Any, transactional_db: None, owner: Any, region: Any
) -> None:
    settings.EMAIL_BACKEND = "verification.mailbox_backend.MailboxBackend"
    settings.PUBLIC_BASE_URL = live_server.url

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verified-identities/**")

    # Created through the same path as the console's create form and the API; the
    # after-commit hook issues the link and (eagerly here) sends the mail to the Mailbox.
    spec = provisioning.NewIdentity(
        identity_type=IdentityType.EMAIL_ADDRESS, name="Browser.User@example.com"
    )
    identity = provisioning.create_identity(owner.membership.account, region, spec)

    page.goto(live_server.url + reverse("verification:mailbox"))
    page.get_by_role("link", name="Email Address Verification Request").first.click()
    link = page.locator("a.mailbox-link").first
    assert "/verify/" in link.get_attribute("href")
    link.click()
    page.get_by_text("Congratulations!").wait_for()

    page.goto(
        live_server.url
        + reverse("identities:detail", kwargs={"region": region.code, "name": identity.name})
    )
    assert page.get_by_text("Verified").first.is_visible()
