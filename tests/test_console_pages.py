"""Console-wide pages: the error pages in the console's look, /favicon.ico, the region switch
that stays on the same section, and breadcrumbs on the pages outside a region."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import Identity
from sesconsole.views import server_error


def test_unknown_url_gets_the_console_404_page(owner_client: Client, region: Region) -> None:
    owner_client.get(reverse("identities:list", kwargs={"region": region.code}))  # sets region
    response = owner_client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<title>Page not found · sesconsole</title>" in html
    assert 'class="topbar"' in html
    assert 'aria-label="Amazon SES"' in html  # the left navigation
    assert "There is nothing at this address" in html
    assert "/no/such/page/" not in html  # a typed path may name another account's identity
    assert "Resolver404" not in html


def test_our_own_404_message_is_shown(owner_client: Client) -> None:
    response = owner_client.get("/xx-nowhere-1/verified-identities/")
    assert response.status_code == 404
    assert "<p>There is no region xx-nowhere-1.</p>" in response.content.decode()


def test_403_page_in_the_console_look_says_why(
    owner_client: Client, make_domain: Callable[..., Identity]
) -> None:
    domain = make_domain("example.com")
    response = owner_client.post(
        reverse(
            "identities:verify_without_dns",
            kwargs={"region": domain.region_id, "name": domain.name},
        )
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "<title>Access denied · sesconsole</title>" in html
    assert "Only operators (staff users) can verify an identity without DNS" in html
    assert 'class="topbar"' in html


def test_500_page_has_the_console_top_bar() -> None:
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert 'class="topbar"' in html
    assert "<h1>Server error</h1>" in html


def test_favicon_redirects_to_the_static_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/favicon.ico")
    icon = client.get("/static/favicon.ico")
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.parametrize(
    ("page", "landing"),
    [
        ("/us-east-1/custom-verification-templates/", "/eu-west-1/custom-verification-templates/"),
        (
            "/us-east-1/custom-verification-templates/welcome/",
            "/eu-west-1/custom-verification-templates/",
        ),
        ("/us-east-1/configuration-sets/", "/eu-west-1/configuration-sets/"),
        ("/us-east-1/configuration-sets/transactional/delete/", "/eu-west-1/configuration-sets/"),
        ("/us-east-1/verified-identities/example.com/tags/", "/eu-west-1/verified-identities/"),
        ("/us-east-1/account/", "/eu-west-1/account/"),
        ("/access-keys/", "/eu-west-1/verified-identities/"),
        ("/nowhere/", "/eu-west-1/verified-identities/"),
        ("https://evil.example/", "/eu-west-1/verified-identities/"),
    ],
)
def test_region_switch_stays_on_the_section(
    owner_client: Client, other_region: Region, page: str, landing: str
) -> None:
    response = owner_client.get(reverse("switch_region"), {"region": "eu-west-1", "next": page})
    assert (response.status_code, response["Location"]) == (302, landing)


def test_region_selector_sends_the_current_page(
    owner_client: Client, account: Account, region: Region
) -> None:
    html = owner_client.get(
        reverse("templates_app:list", kwargs={"region": region.code})
    ).content.decode()
    assert (
        '<input type="hidden" name="next" value="/us-east-1/custom-verification-templates/">'
        in html
    )


@pytest.mark.parametrize(
    ("view", "crumbs"),
    [
        ("identities:dns_servers", "DNS servers"),
        ("identities:dns_server_create", "Add DNS server"),
        ("access_keys", "API access keys"),
    ],
)
def test_pages_outside_a_region_have_breadcrumbs(
    owner_client: Client, region: Region, view: str, crumbs: str
) -> None:
    html = owner_client.get(reverse(view)).content.decode()
    assert '<nav class="breadcrumbs" aria-label="Breadcrumbs">' in html
    assert f'<span aria-current="page">{crumbs}</span>' in html
