"""Configuration sets in the console: list, create, delete with the dangling-default warning."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import ConfigurationSet, Identity

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST_URL = "/us-east-1/configuration-sets/"
CREATE_URL = "/us-east-1/configuration-sets/create/"


def delete_url(name: str) -> str:
    return reverse(
        "identities:configuration_set_delete", kwargs={"region": "us-east-1", "name": name}
    )


@pytest.fixture
def marketing(account: Account, region: Region) -> ConfigurationSet:
    return ConfigurationSet.objects.create(account=account, region=region, name="marketing")


def test_urls_are_stable(region: Region) -> None:
    assert reverse("identities:configuration_sets", kwargs={"region": "us-east-1"}) == LIST_URL
    assert (
        reverse("identities:configuration_set_create", kwargs={"region": "us-east-1"}) == CREATE_URL
    )


# --- list ---------------------------------------------------------------------------------------
def test_list_shows_sets_with_how_many_identities_use_them(
    owner_client: Client,
    marketing: ConfigurationSet,
    account: Account,
    region: Region,
    make_domain: Callable,
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="unused")
    make_domain("a.example", configuration_set_name="marketing")
    make_domain("b.example", configuration_set_name="marketing")

    response = owner_client.get(LIST_URL)

    assert [(s.name, s.identity_count) for s in response.context["rows"]] == [
        ("marketing", 2),
        ("unused", 0),
    ]
    assert (
        'Configuration sets <span class="counter" id="set-count">(2)</span>'
        in response.content.decode()
    )
    assert 'aria-current="page">Configuration sets</a>' in response.content.decode()


def test_list_teammate_sees_the_accounts_sets(
    teammate_client: Client, marketing: ConfigurationSet
) -> None:
    response = teammate_client.get(LIST_URL)

    assert [s.name for s in response.context["rows"]] == ["marketing"]


def test_list_outsider_sees_only_their_own(
    outsider_client: Client, marketing: ConfigurationSet
) -> None:
    assert list(outsider_client.get(LIST_URL).context["rows"]) == []


def test_list_htmx_returns_the_results_partial(
    owner_client: Client, marketing: ConfigurationSet
) -> None:
    html = owner_client.get(LIST_URL, {"q": "market"}, **HTMX).content.decode()

    assert "<html" not in html
    assert html.lstrip().startswith('<div id="set-results" class="results">')
    assert '<span class="counter" id="set-count" hx-swap-oob="true">(1)</span>' in html


def test_list_filter_and_page_size_are_kept_in_the_url(
    owner_client: Client, account: Account, region: Region
) -> None:
    for i in range(12):
        ConfigurationSet.objects.create(account=account, region=region, name=f"set-{i:02}")
    ConfigurationSet.objects.create(account=account, region=region, name="other")

    first = owner_client.get(LIST_URL, {"q": "SET-", "size": "10"})
    second = owner_client.get(LIST_URL, {"q": "set-", "page": "2"})  # the size is remembered
    nothing = owner_client.get(LIST_URL, {"q": "nope"}).content.decode()

    assert [s.name for s in first.context["rows"]] == [f"set-{i:02}" for i in range(10)]
    assert "?q=SET-&amp;size=10&amp;page=2" in first.content.decode()
    assert '<option value="10" selected>10 per page</option>' in first.content.decode()
    assert [s.name for s in second.context["rows"]] == ["set-10", "set-11"]
    assert "No configuration set matches the filter." in nothing


def test_list_query_count_is_constant(
    owner_client: Client, account: Account, region: Region, make_domain: Callable
) -> None:
    owner_client.get(LIST_URL)

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            owner_client.get(LIST_URL)
        return len(context.captured_queries)

    ConfigurationSet.objects.create(account=account, region=region, name="s0")
    make_domain("a.example", configuration_set_name="s0")
    one = count()
    for i in range(1, 3):
        ConfigurationSet.objects.create(account=account, region=region, name=f"s{i}")
        make_domain(f"d{i}.example", configuration_set_name=f"s{i}")

    assert count() == one


# --- create -----------------------------------------------------------------------------------------
def test_create_set(owner_client: Client, account: Account) -> None:
    response = owner_client.post(CREATE_URL, {"name": "transactional"}, follow=True)

    assert response.redirect_chain == [(LIST_URL, 302)]
    assert ConfigurationSet.objects.get().account == account
    assert "The configuration set transactional was created." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "",
            "Enter a configuration set name: 1–64 letters, digits, underscores and hyphens.",
        ),
        (
            "has space",
            "“has space” is not a valid configuration set name. Use 1–64 letters, digits, "
            "underscores and hyphens.",
        ),
        (
            "marketing",
            "A configuration set named marketing already exists in us-east-1. Choose another name.",
        ),
    ],
)
def test_create_set_errors_keep_the_input(
    owner_client: Client, marketing: ConfigurationSet, name: str, message: str
) -> None:
    response = owner_client.post(CREATE_URL, {"name": name})

    assert response.context["form"].errors["name"] == [message]
    if name:
        assert f'value="{name}"' in response.content.decode()
    assert ConfigurationSet.objects.count() == 1


def test_create_same_name_in_another_account_is_fine(
    outsider_client: Client, marketing: ConfigurationSet
) -> None:
    assert outsider_client.post(CREATE_URL, {"name": "marketing"}).status_code == 302
    assert ConfigurationSet.objects.count() == 2


def test_create_htmx(owner_client: Client, region: Region) -> None:
    error = owner_client.post(CREATE_URL, {"name": "bad name"}, **HTMX)
    done = owner_client.post(CREATE_URL, {"name": "good-name"}, **HTMX)

    assert error.content.decode().lstrip().startswith("<form")
    assert done["HX-Redirect"] == LIST_URL


# --- delete -----------------------------------------------------------------------------------------
def test_delete_warns_about_identities_using_the_set(
    owner_client: Client, marketing: ConfigurationSet, make_domain: Callable
) -> None:
    make_domain("a.example", configuration_set_name="marketing")

    html = owner_client.get(delete_url("marketing")).content.decode()

    assert (
        "1 identity uses marketing as the default configuration set. After you delete it, "
        "messages sent from that identity without naming a configuration set fail until you "
        "choose another default."
    ) in html
    assert ">a.example</a>" in html
    assert "Delete anyway" in html


def test_delete_without_users_has_no_warning(
    owner_client: Client, marketing: ConfigurationSet
) -> None:
    html = owner_client.get(delete_url("marketing")).content.decode()

    assert "No identity uses marketing as its default configuration set." in html


def test_delete_anyway_leaves_the_default_dangling(
    owner_client: Client, marketing: ConfigurationSet, make_domain: Callable
) -> None:
    make_domain("a.example", configuration_set_name="marketing")

    response = owner_client.post(delete_url("marketing"), {"confirm": "marketing"})

    assert response["Location"] == LIST_URL
    assert not ConfigurationSet.objects.exists()
    assert Identity.objects.get().configuration_set_name == "marketing"


def test_delete_without_the_typed_name_keeps_the_set(
    owner_client: Client, marketing: ConfigurationSet
) -> None:
    response = owner_client.post(delete_url("marketing"), {"confirm": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == [
        "The name you entered doesn't match. Enter marketing exactly as shown to delete it."
    ]
    assert ConfigurationSet.objects.exists()


def test_delete_teammate_can_delete(teammate_client: Client, marketing: ConfigurationSet) -> None:
    teammate_client.post(delete_url("marketing"), {"confirm": "marketing"})

    assert not ConfigurationSet.objects.exists()


def test_delete_htmx(owner_client: Client, marketing: ConfigurationSet) -> None:
    page = owner_client.get(delete_url("marketing"), **HTMX)
    wrong = owner_client.post(delete_url("marketing"), {"confirm": "Marketing"}, **HTMX)
    done = owner_client.post(delete_url("marketing"), {"confirm": "marketing"}, **HTMX)

    assert page.content.decode().lstrip().startswith("<form")
    assert wrong.context["form"].errors["confirm"] == [
        "The name you entered doesn't match. Enter marketing exactly as shown to delete it."
    ]
    assert wrong.content.decode().lstrip().startswith("<form")
    assert done["HX-Redirect"] == LIST_URL
