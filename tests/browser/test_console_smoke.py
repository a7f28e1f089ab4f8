"""In a real browser: sign in, create a domain identity with the wizard, see its three DKIM
CNAMEs, and download the .csv record set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from identities import records
from identities.models import Identity
from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verified-identities/")


def create_domain(page: Any, typed: str, stored: str) -> None:
    """The wizard's domain path: type a name, create, land on the identity page."""
    page.get_by_role("link", name="Create identity").first.click()
    page.get_by_role("radio", name="Domain").check()
    page.fill("#id_domain", typed)
    page.get_by_role("button", name="Create identity").click()
    page.wait_for_url(f"**/verified-identities/{stored}/")


def test_create_domain_with_wizard_and_download_csv(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Any, tmp_path: Path
) -> None:
    sign_in(page, live_server, owner.username)
    create_domain(page, "Smoke-Test.Example.COM", "smoke-test.example.com")

    identity = Identity.objects.get(name="smoke-test.example.com")
    assert identity.verification_status == "PENDING"
    for token in identity.dkim_tokens:
        row = page.locator("tr", has_text=f"{token}._domainkey.smoke-test.example.com")
        assert row.count() == 1
        assert f"{token}.dkim.amazonses.com" in row.inner_text()
        assert "CNAME" in row.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .csv record set").first.click()
    saved = tmp_path / "records.csv"
    download_info.value.save_as(saved)
    # Compare bytes: the file uses CSV's CRLF line ends, which text mode would translate.
    assert saved.read_bytes().decode() == records.records_csv(records.expected_records(identity))
