"""In a real browser: create an email identity, find its mail on Sent messages, click the link,
see Verified."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse

from identities.models import Identity, VerificationStatus
from tests.conftest import PASSWORD
from tests.verification.conftest import eager_celery  # noqa: F401  (.delay runs in-process)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_verify_an_email_identity_through_sent_messages(
    page: Any, live_server: Any, settings: Any, transactional_db: None, owner: Any, region: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # the embedded mode
    settings.PUBLIC_BASE_URL = live_server.url

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verified-identities/**")

    # The console's create wizard; committing queues the mail (eagerly here); it is kept.
    page.goto(live_server.url + reverse("identities:create", kwargs={"region": region.code}))
    page.check("input[name=identity_type][value=EMAIL_ADDRESS]")
    page.fill("#id_email", "Browser.User@example.com")
    page.get_by_role("button", name="Create identity").click()
    page.get_by_role("heading", name="Browser.User@example.com").wait_for()
    identity = Identity.objects.get(name="Browser.User@example.com")
    assert identity.verification_status == VerificationStatus.PENDING

    # The old Mailbox address leads to Sent messages, filtered on verification emails.
    page.goto(live_server.url + "/mailbox/")
    page.wait_for_url("**/sent-messages/?kind=verification")
    page.get_by_role("link", name="Email Address Verification Request").first.click()
    link = page.locator("a.message-link").first
    assert "/verify/" in link.get_attribute("href")
    link.click()
    page.get_by_text("Congratulations!").wait_for()

    page.goto(
        live_server.url
        + reverse("identities:detail", kwargs={"region": region.code, "name": identity.name})
    )
    assert page.get_by_text("Verified").first.is_visible()
    identity.refresh_from_db()
    assert identity.verification_status == VerificationStatus.SUCCESS
