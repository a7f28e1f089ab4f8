"""The Verified identities list and its bulk delete."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import Identity, VerificationStatus

HTMX = {"HTTP_HX_REQUEST": "true"}


def list_url(region: str = "us-east-1") -> str:
    return reverse("identities:list", kwargs={"region": region})


def bulk_delete_url(region: str = "us-east-1") -> str:
    return reverse("identities:bulk_delete", kwargs={"region": region})


def set_status(name: str, status: str) -> None:
    Identity.objects.filter(name=name).update(verification_status=status)


def shown_names(response) -> list[str]:
    return [row.name for row in response.context["rows"]]


# --- access -----------------------------------------------------------------------------------
def test_list_shows_identities_with_type_and_status(
    owner_client: Client, make_domain: Callable, make_email: Callable
) -> None:
    make_domain("example.com")
    make_email("sender@example.org")
    set_status("example.com", VerificationStatus.SUCCESS)

    response = owner_client.get(list_url())

    assert response.status_code == 200
    assert shown_names(response) == ["example.com", "sender@example.org"]
    html = response.content.decode()
    assert 'Identities <span class="counter" id="identity-count">(2)</span>' in html
    assert '<span class="status__icon" aria-hidden="true">✓</span>Verified' in html
    assert '<span class="status__icon" aria-hidden="true">◷</span>Pending' in html
    assert "Email address" in html


def test_list_teammate_sees_the_accounts_identities(
    teammate_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = teammate_client.get(list_url())

    assert shown_names(response) == ["example.com"]


def test_list_outsider_sees_only_their_own_account(
    outsider_client: Client, make_domain: Callable, other_account: Account
) -> None:
    make_domain("example.com")
    make_domain("outsider.example", acct=other_account)

    response = outsider_client.get(list_url())

    assert shown_names(response) == ["outsider.example"]


def test_list_is_per_region(
    owner_client: Client, make_domain: Callable, other_region: Region
) -> None:
    make_domain("example.com")
    make_domain("ireland.example", reg=other_region)

    response = owner_client.get(list_url("eu-west-1"))

    assert shown_names(response) == ["ireland.example"]


def test_list_unknown_region_is_404(owner_client: Client, region: Region) -> None:
    assert owner_client.get(list_url("xx-nowhere-1")).status_code == 404


# --- filters, sort, pagination ----------------------------------------------------------------
@pytest.fixture
def mixed(make_domain: Callable, make_email: Callable) -> None:
    make_domain("alpha.example")
    make_domain("beta.example")
    make_email("carol@alpha.example")
    set_status("alpha.example", VerificationStatus.SUCCESS)
    set_status("beta.example", VerificationStatus.FAILED)


def test_list_text_filter_matches_part_of_the_name(owner_client: Client, mixed: None) -> None:
    response = owner_client.get(list_url(), {"q": "ALPHA"})

    assert shown_names(response) == ["alpha.example", "carol@alpha.example"]
    assert 'value="ALPHA"' in response.content.decode()


def test_list_type_and_status_filters(owner_client: Client, mixed: None) -> None:
    by_type = owner_client.get(list_url(), {"type": "EMAIL_ADDRESS"})
    by_status = owner_client.get(list_url(), {"status": "FAILED"})

    assert shown_names(by_type) == ["carol@alpha.example"]
    assert shown_names(by_status) == ["beta.example"]


def test_list_ignores_an_unknown_filter_value(owner_client: Client, mixed: None) -> None:
    response = owner_client.get(list_url(), {"status": "BOGUS", "sort": "password"})

    assert response.status_code == 200
    assert len(shown_names(response)) == 3


def test_list_no_match_says_so(owner_client: Client, mixed: None) -> None:
    response = owner_client.get(list_url(), {"q": "nothing-like-this"})

    assert shown_names(response) == []
    assert "No identity matches the filter." in response.content.decode()


def test_list_sorts_by_status_word_both_ways(owner_client: Client, mixed: None) -> None:
    ascending = owner_client.get(list_url(), {"sort": "status"})
    descending = owner_client.get(list_url(), {"sort": "-status"})

    # Failed < Pending < Verified, as the words read.
    assert shown_names(ascending) == ["beta.example", "carol@alpha.example", "alpha.example"]
    assert shown_names(descending) == ["alpha.example", "carol@alpha.example", "beta.example"]


def test_list_sorts_by_name_descending(owner_client: Client, mixed: None) -> None:
    response = owner_client.get(list_url(), {"sort": "-name"})

    assert shown_names(response) == ["carol@alpha.example", "beta.example", "alpha.example"]


def test_list_sort_links_keep_the_filter(owner_client: Client, mixed: None) -> None:
    html = owner_client.get(list_url(), {"q": "alpha"}).content.decode()

    assert 'href="?q=alpha&amp;sort=status"' in html


def make_many(account: Account, region: Region, count: int) -> None:
    Identity.objects.bulk_create(
        Identity(account=account, region=region, identity_type="DOMAIN", name=f"d{i:03}.example")
        for i in range(count)
    )


def test_list_paginates_fifty_per_page(
    owner_client: Client, account: Account, region: Region
) -> None:
    make_many(account, region, 60)

    first = owner_client.get(list_url())
    second = owner_client.get(list_url(), {"page": 2})

    assert len(shown_names(first)) == 50
    assert shown_names(second) == [f"d{i:03}.example" for i in range(50, 60)]
    assert 'aria-label="Next page"' in first.content.decode()
    assert "(60)" in first.content.decode()


# --- htmx ----------------------------------------------------------------------------------------
def test_list_htmx_returns_only_the_results_partial(owner_client: Client, mixed: None) -> None:
    response = owner_client.get(list_url(), {"q": "beta"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="identity-results"')
    assert '<span class="counter" id="identity-count" hx-swap-oob="true">(1)</span>' in html
    # A partial rendered alone sends no template signal, so read the rows from the HTML.
    assert re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', html) == ["beta.example"]


def test_list_polls_while_an_identity_shown_is_pending(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    html = owner_client.get(list_url()).content.decode()

    assert 'hx-trigger="every 5s"' in html


def test_list_stops_polling_once_settled(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")
    set_status("example.com", VerificationStatus.SUCCESS)

    html = owner_client.get(list_url(), **HTMX).content.decode()

    assert "every 5s" not in html


def test_list_filter_form_works_without_and_with_js(owner_client: Client, region: Region) -> None:
    html = owner_client.get(list_url()).content.decode()

    assert '<form id="identity-results-filters" class="filters" method="get" role="search"' in html
    assert 'hx-get="/us-east-1/verified-identities/" hx-trigger="input delay:300ms, submit"' in html


# --- query count ----------------------------------------------------------------------------------
def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_list_query_count_is_constant(
    owner_client: Client, account: Account, region: Region, django_assert_num_queries
) -> None:
    owner_client.get(list_url())  # stores the region in the session once

    make_many(account, region, 1)
    one = count_queries(owner_client, list_url())
    Identity.objects.all().delete()
    make_many(account, region, 3)
    three = count_queries(owner_client, list_url())
    Identity.objects.all().delete()
    make_many(account, region, 60)
    sixty = count_queries(owner_client, list_url() + "?page=2")

    assert one == three == sixty
    # session, user with membership and account, the enabled regions (the page's and the top
    # bar's), COUNT, page
    with django_assert_num_queries(5):
        owner_client.get(list_url())


# --- bulk delete -----------------------------------------------------------------------------------
def test_bulk_delete_first_asks_for_confirmation(owner_client: Client, mixed: None) -> None:
    response = owner_client.post(bulk_delete_url(), {"identity": ["alpha.example", "beta.example"]})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete 2 identities?" in html
    assert '<input type="hidden" name="identity" value="alpha.example">' in html
    assert Identity.objects.count() == 3


def test_bulk_delete_deletes_after_confirmation(owner_client: Client, mixed: None) -> None:
    response = owner_client.post(
        bulk_delete_url(),
        {"identity": ["alpha.example", "beta.example"], "confirm": "delete"},
        follow=True,
    )

    assert response.redirect_chain == [(list_url(), 302)]
    assert list(Identity.objects.values_list("name", flat=True)) == ["carol@alpha.example"]
    assert "Deleted 2 identities." in response.content.decode()


def test_bulk_delete_teammate_can_delete(teammate_client: Client, mixed: None) -> None:
    teammate_client.post(bulk_delete_url(), {"identity": ["beta.example"], "confirm": "delete"})

    assert not Identity.objects.filter(name="beta.example").exists()


def test_bulk_delete_without_selection_explains(owner_client: Client, mixed: None) -> None:
    response = owner_client.post(bulk_delete_url(), {}, follow=True)

    assert (
        "Select at least one identity to delete, then choose Delete." in response.content.decode()
    )
    assert Identity.objects.count() == 3


def test_bulk_delete_never_touches_another_account(outsider_client: Client, mixed: None) -> None:
    response = outsider_client.post(
        bulk_delete_url(), {"identity": ["alpha.example"], "confirm": "delete"}
    )

    assert response.status_code == 302
    assert Identity.objects.count() == 3


def test_bulk_delete_anonymous_redirects_to_login(client: Client, mixed: None) -> None:
    response = client.post(bulk_delete_url(), {"identity": ["alpha.example"], "confirm": "delete"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert Identity.objects.count() == 3


def test_bulk_delete_get_goes_back_to_the_list(owner_client: Client, region: Region) -> None:
    # A reload or a bookmark of the confirmation page: the list, not an empty 405 page.
    response = owner_client.get(bulk_delete_url())
    assert (response.status_code, response["Location"]) == (302, list_url())


def test_bulk_delete_needs_the_typed_word(owner_client: Client, mixed: None) -> None:
    first = owner_client.post(bulk_delete_url(), {"identity": ["beta.example"]}).content.decode()
    assert "To confirm deletion, enter delete" in first
    assert 'data-expected="delete"' in first
    assert "doesn&#x27;t match" not in first  # no error before anything was typed
    response = owner_client.post(
        bulk_delete_url(), {"identity": ["beta.example"], "confirm": "yes"}
    )
    assert response.status_code == 200
    assert (
        "The text you entered doesn&#x27;t match. Enter delete exactly as shown to delete them."
        in response.content.decode()
    )
    assert Identity.objects.filter(name="beta.example").exists()


def test_bulk_delete_htmx_confirms_with_partial_then_client_redirects(
    owner_client: Client, mixed: None
) -> None:
    confirm = owner_client.post(bulk_delete_url(), {"identity": ["beta.example"]}, **HTMX)
    done = owner_client.post(
        bulk_delete_url(), {"identity": ["beta.example"], "confirm": "delete"}, **HTMX
    )

    assert confirm.content.decode().lstrip().startswith("<form")
    assert "<html" not in confirm.content.decode()
    assert done.status_code == 200
    assert done["HX-Redirect"] == list_url()


@pytest.mark.parametrize(
    "name", ["example.com", "user+tag@example.com", "o'brien@example.com", "a&b=c@example.com"]
)
def test_list_row_links_equal_reverse(name: str) -> None:
    # The list quotes names with a filter instead of one reverse() per row: same URLs.
    from identities.templatetags.console import path_segment

    list_url = reverse("identities:list", kwargs={"region": "us-east-1"})
    detail = reverse("identities:detail", kwargs={"region": "us-east-1", "name": name})
    assert f"{list_url}{path_segment(name)}/" == detail


# --- page size preference ----------------------------------------------------------------------
def test_page_size_from_the_url_is_remembered(
    owner_client: Client, make_domain: Callable[..., Identity]
) -> None:
    for i in range(12):
        make_domain(f"d{i:02}.example")
    first = owner_client.get(list_url(), {"size": "10"}).content.decode()
    assert first.count('name="identity"') == 10
    assert '<option value="10" selected>10 per page</option>' in first
    # Kept in the pagination links, and remembered without it in the URL.
    assert "size=10" in first
    again = owner_client.get(list_url()).content.decode()
    assert again.count('name="identity"') == 10
    bigger = owner_client.get(list_url(), {"size": "25"}).content.decode()
    assert bigger.count('name="identity"') == 12


def test_page_size_outside_the_choices_is_ignored(
    owner_client: Client, make_domain: Callable[..., Identity]
) -> None:
    for i in range(12):
        make_domain(f"d{i:02}.example")
    page = owner_client.get(list_url(), {"size": "7"}).content.decode()
    assert page.count('name="identity"') == 12  # the default, 50
    assert '<option value="50" selected>50 per page</option>' in page
