"""In a real browser: after a validation error the pasted BYODKIM key is still in its box,
although the server never sends it back (htmx keeps the element: hx-preserve)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse

from tests.browser.test_console_smoke import sign_in
from tests.support.keys import der_base64, rsa_key

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_pasted_private_key_survives_an_error_without_being_echoed(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Any
) -> None:
    key = der_base64(rsa_key(1024))
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("identities:create", kwargs={"region": region.code}))
    page.fill("#id_domain", "byo.example.com")
    page.locator("summary", has_text="Advanced DKIM settings").click()
    page.get_by_role("radio", name="Provide DKIM authentication token (BYODKIM)").check()
    page.fill("#id_private_key", key)
    page.fill("#id_selector", "bad.selector")  # dots are not allowed: the form comes back
    with page.expect_response(lambda r: "/create/" in r.url and r.request.method == "POST") as sent:
        page.get_by_role("button", name="Create identity").click()
    response = sent.value

    assert key not in response.text()  # the server never echoes the key
    page.get_by_text("is not a valid selector").wait_for()
    assert page.input_value("#id_private_key") == key  # ...yet nothing the user typed is lost
