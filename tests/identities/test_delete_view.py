"""Deleting one identity: the user types its name to confirm."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from identities.models import Identity

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST_URL = "/us-east-1/verified-identities/"


def delete_url(name: str = "example.com") -> str:
    return reverse("identities:delete", kwargs={"region": "us-east-1", "name": name})


@pytest.fixture
def domain(make_domain: Callable) -> Identity:
    return make_domain("example.com")


def test_delete_page_asks_for_the_name(owner_client: Client, domain: Identity) -> None:
    html = owner_client.get(delete_url()).content.decode()

    assert "To confirm deletion, enter example.com" in html
    assert "This can&#x27;t be undone." in html


def test_delete_with_the_exact_name(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(delete_url(), {"confirm": "example.com"}, follow=True)

    assert response.redirect_chain == [(LIST_URL, 302)]
    assert not Identity.objects.exists()
    assert "The identity example.com was deleted." in response.content.decode()


def test_delete_teammate_can_delete(teammate_client: Client, domain: Identity) -> None:
    teammate_client.post(delete_url(), {"confirm": "example.com"})

    assert not Identity.objects.exists()


@pytest.mark.parametrize("typed", ["", "Example.com", "example.com ", "example"])
def test_delete_with_another_name_is_refused_and_keeps_the_input(
    owner_client: Client, domain: Identity, typed: str
) -> None:
    response = owner_client.post(delete_url(), {"confirm": typed})

    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == [
        "The name you entered doesn't match. Enter example.com exactly as shown to delete it."
    ]
    if typed:
        assert f'value="{typed}"' in response.content.decode()
    assert Identity.objects.exists()


def test_delete_email_identity_is_case_sensitive(
    owner_client: Client, make_email: Callable
) -> None:
    make_email("Sender@example.com")

    refused = owner_client.post(delete_url("Sender@example.com"), {"confirm": "sender@example.com"})
    accepted = owner_client.post(
        delete_url("Sender@example.com"), {"confirm": "Sender@example.com"}
    )

    assert refused.status_code == 200
    assert accepted.status_code == 302
    assert not Identity.objects.exists()


def test_delete_htmx_error_returns_the_form_partial(owner_client: Client, domain: Identity) -> None:
    html = owner_client.post(delete_url(), {"confirm": "nope"}, **HTMX).content.decode()

    assert "<html" not in html
    assert html.lstrip().startswith("<form")
    assert "The name you entered doesn&#x27;t match." in html


def test_delete_htmx_success_redirects_the_client(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(delete_url(), {"confirm": "example.com"}, **HTMX)

    assert response["HX-Redirect"] == LIST_URL
    assert not Identity.objects.exists()
