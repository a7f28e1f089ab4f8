"""In a real browser: the SMTP settings page creates credentials and the .csv built into the
page downloads under the console's Content-Security-Policy (the password exists nowhere else)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AccessKey
from smtp.credentials import authenticate, smtp_password
from smtp.views import credentials_csv
from tests.browser.test_console_smoke import sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def test_create_smtp_credentials_and_download_the_csv(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Any, tmp_path: Path
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="SMTP settings").click()
    page.wait_for_url("**/us-east-1/smtp-settings/")
    page.get_by_role("button", name="Create SMTP credentials").click()

    username = page.locator("#smtp-username").inner_text()
    password = page.locator("#smtp-password").inner_text()
    key = AccessKey.objects.get(access_key_id=username)
    assert password == smtp_password(key.secret(), "us-east-1")
    assert authenticate(username, password, "192.0.2.1").region.code == "us-east-1"
    assert page.get_by_role("button", name="Copy the SMTP password").is_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .csv file").click()
    saved = tmp_path / "credentials.csv"
    download_info.value.save_as(saved)
    assert download_info.value.suggested_filename == "smtp-credentials-us-east-1.csv"
    assert saved.read_bytes().decode() == credentials_csv(username, password, "us-east-1")
    assert page.url.endswith(reverse("smtp:create_credentials", kwargs={"region": "us-east-1"}))
