"""Console: the SMTP settings page and "Create SMTP credentials" (password shown once)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from urllib.parse import unquote

from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey, Account
from smtp.credentials import authenticate

SETTINGS = reverse("smtp:settings", kwargs={"region": "eu-west-1"})
CREATE = reverse("smtp:create_credentials", kwargs={"region": "eu-west-1"})


def test_settings_page_shows_the_endpoint(owner_client: Client, settings: object) -> None:
    settings.SMTP_SERVER_NAME = "smtp.mail.example"  # type: ignore[attr-defined]
    settings.SMTP_PORT = 587  # type: ignore[attr-defined]
    settings.SMTP_TLS_PORT = 465  # type: ignore[attr-defined]

    response = owner_client.get(SETTINGS)

    page = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r"<dt>([^<]+)</dt><dd>(?:<div[^>]*><code[^>]*>)?([^<]+)", page) == [
        ("SMTP endpoint", "smtp.mail.example"),
        ("STARTTLS port", "587"),
        ("TLS Wrapper port", "465"),
        ("Transport Layer Security (TLS)", "Required"),
        ("Authentication", "AUTH PLAIN or AUTH LOGIN with SMTP credentials"),
    ]
    assert 'aria-current="page">SMTP settings</a>' in page
    assert "Create SMTP credentials" in page


def test_settings_page_for_a_region_without_smtp_says_so(owner_client: Client) -> None:
    response = owner_client.get(reverse("smtp:settings", kwargs={"region": "af-south-1"}))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Africa (Cape Town) has no SMTP endpoint, as in Amazon SES." in page
    assert "Create SMTP credentials" not in page


def test_settings_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get(SETTINGS)
    assert (response.status_code, response.url.split("?")[0]) == (302, reverse("login"))


def test_settings_wrong_method_is_405(owner_client: Client) -> None:
    assert owner_client.post(SETTINGS).status_code == 405


def test_settings_unknown_region_is_404(owner_client: Client) -> None:
    assert owner_client.get("/xx-nowhere-1/smtp-settings/").status_code == 404


def _shown(page: str, element_id: str) -> str:
    found = re.search(rf'<code id="{element_id}">([^<]+)</code>', page)
    assert found is not None, element_id
    return unescape(found.group(1))


def test_create_shows_credentials_once_that_log_in_for_the_region(
    owner_client: Client, account: Account
) -> None:
    response = owner_client.post(CREATE)

    page = response.content.decode()
    key = AccessKey.objects.get(account=account)
    username, password = _shown(page, "smtp-username"), _shown(page, "smtp-password")
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")
    assert (username, key.description) == (key.access_key_id, "SMTP credentials (eu-west-1)")
    assert authenticate(username, password, "192.0.2.1").region.code == "eu-west-1"
    assert password not in owner_client.get(SETTINGS).content.decode()
    assert password not in owner_client.get(reverse("access_keys")).content.decode()


def test_create_offers_a_csv_download_of_the_same_credentials(owner_client: Client) -> None:
    page = owner_client.post(CREATE).content.decode()

    link = re.search(r'download="([^"]+)" href="data:text/csv;charset=utf-8,([^"]+)"', page)
    assert link is not None
    rows = list(csv.reader(io.StringIO(unquote(unescape(link.group(2))))))
    assert link.group(1) == "smtp-credentials-eu-west-1.csv"
    assert rows == [
        ["SMTP user name", "SMTP password", "Region"],
        [_shown(page, "smtp-username"), _shown(page, "smtp-password"), "eu-west-1"],
    ]


def test_create_makes_the_key_in_the_users_own_account(
    outsider_client: Client, account: Account, other_account: Account
) -> None:
    assert outsider_client.post(CREATE).status_code == 200
    assert (
        AccessKey.objects.filter(account=account).count(),
        other_account.access_keys.count(),
    ) == (
        0,
        1,
    )


def test_create_in_a_region_without_smtp_is_refused(owner_client: Client) -> None:
    response = owner_client.post(
        reverse("smtp:create_credentials", kwargs={"region": "me-south-1"})
    )
    assert response.status_code == 400
    assert AccessKey.objects.count() == 0


def test_create_wrong_method_is_405(owner_client: Client) -> None:
    assert owner_client.get(CREATE).status_code == 405


def test_create_anonymous_issues_nothing(client: Client) -> None:
    assert client.post(CREATE).status_code == 302
    assert AccessKey.objects.count() == 0


def test_create_needs_the_csrf_token_the_settings_page_carries(owner_client: Client) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = owner_client.cookies
    assert csrf_client.post(CREATE).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in owner_client.get(SETTINGS).content.decode()
