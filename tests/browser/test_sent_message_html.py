"""In a real browser, a sent message's HTML is shown but nothing in it runs: the console frames
it sandboxed (no allow-scripts) and its document has a CSP without any script source."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Account, Region
from identities.models import Identity, VerificationStatus
from sending.operations import Outgoing, Simple, send
from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser

HOSTILE = (
    '<p id="greeting">Hello from the message</p>'
    # Had either run, the greeting would read "ran" (inside the frame, where they could act).
    "<script>document.getElementById('greeting').textContent = 'ran';</script>"
    "<img src=\"data:,\" onerror=\"document.getElementById('greeting').textContent = 'ran'\">"
    '<form action="/us-east-1/verified-identities/delete/" method="post"><button>Go</button></form>'
)


def test_sent_html_is_shown_and_never_runs(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
) -> None:
    domain = make_domain("example.com")
    Identity.objects.filter(pk=domain.pk).update(verification_status=VerificationStatus.SUCCESS)
    message = send(
        Outgoing(
            account=account,
            region=region,
            actor="tests",
            from_address="sender@example.com",
            to=["success@simulator.amazonses.com"],
            simple=Simple(subject="Hostile", text="text", html=HOSTILE),
        )
    )
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verified-identities/")
    page.goto(
        live_server.url
        + reverse(
            "sending:message", kwargs={"region": "us-east-1", "message_id": message.message_id}
        )
    )
    frame = page.frame_locator("iframe.mail-preview")
    expect(frame.locator("#greeting")).to_have_text("Hello from the message")
    assert page.title().startswith("Hostile")
    assert page.locator("iframe.mail-preview").get_attribute("sandbox") == "allow-popups"
