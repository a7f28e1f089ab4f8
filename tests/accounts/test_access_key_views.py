"""Console pages for API access keys: the access matrix, secret shown once, state changes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey, Account


@pytest.fixture
def key(account: Account) -> AccessKey:
    return AccessKey.issue(account, description="ci")[0]


def test_list_shows_the_accounts_keys_only(
    owner_client: Client, key: AccessKey, other_account: Account
) -> None:
    foreign, _ = AccessKey.issue(other_account)

    response = owner_client.get(reverse("access_keys"))

    assert response.status_code == 200
    assert [k.access_key_id for k in response.context["rows"]] == [key.access_key_id]
    assert foreign.access_key_id not in response.content.decode()
    assert key.secret() not in response.content.decode()


def test_list_filters_and_page_size_are_kept_in_the_url(
    owner_client: Client, account: Account
) -> None:
    keys = [AccessKey.issue(account, description=f"deploy {i}")[0] for i in range(12)]
    keys[0].deactivate()
    url = reverse("access_keys")

    inactive = owner_client.get(url, {"status": "Inactive"})
    deploy = owner_client.get(url, {"q": "DEPLOY", "size": "10"})
    remembered = owner_client.get(url)
    partial = owner_client.get(url, {"q": keys[3].access_key_id}, HTTP_HX_REQUEST="true")

    assert [k.pk for k in inactive.context["rows"]] == [keys[0].pk]
    assert len(deploy.context["rows"]) == 10
    assert "?q=DEPLOY&amp;size=10&amp;page=2" in deploy.content.decode()
    assert len(remembered.context["rows"]) == 10
    assert partial.content.decode().lstrip().startswith('<div id="key-results" class="results">')
    assert [k.pk for k in partial.context["rows"]] == [keys[3].pk]


def test_create_shows_the_secret_once(owner_client: Client, account: Account) -> None:
    response = owner_client.post(reverse("access_key_create"), {"description": "deploy"})

    created = AccessKey.objects.get(account=account)
    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert created.secret() in page
    assert created.description == "deploy"
    assert created.secret() not in owner_client.get(reverse("access_keys")).content.decode()


def test_teammate_can_create_keys(teammate_client: Client, account: Account) -> None:
    assert teammate_client.post(reverse("access_key_create")).status_code == 200
    assert AccessKey.objects.filter(account=account).count() == 1


@pytest.mark.parametrize(
    "action", ["access_key_deactivate", "access_key_activate", "access_key_delete"]
)
def test_actions_matrix(
    action: str,
    key: AccessKey,
    owner_client: Client,
    teammate_client: Client,
    outsider_client: Client,
    client: Client,
) -> None:
    url = reverse(action, args=[key.access_key_id])
    data = {"confirm": key.access_key_id}  # what a delete needs; the others ignore it

    assert outsider_client.post(url, data).status_code == 404
    assert client.post(url, data).status_code == 302
    assert AccessKey.objects.filter(pk=key.pk).exists()
    assert owner_client.put(url).status_code == 405
    assert teammate_client.post(url, data).status_code == 302


def test_deactivate_then_activate(owner_client: Client, key: AccessKey) -> None:
    owner_client.post(reverse("access_key_deactivate", args=[key.access_key_id]))
    key.refresh_from_db()
    assert key.status == AccessKey.Status.INACTIVE

    owner_client.post(reverse("access_key_activate", args=[key.access_key_id]))
    key.refresh_from_db()
    assert key.status == AccessKey.Status.ACTIVE


def test_delete_removes_the_key(owner_client: Client, key: AccessKey) -> None:
    url = reverse("access_key_delete", args=[key.access_key_id])

    page = owner_client.get(url)
    refused = owner_client.post(url, {"confirm": "AKIA"})
    assert AccessKey.objects.filter(pk=key.pk).exists()
    response = owner_client.post(url, {"confirm": key.access_key_id})

    assert page.context["form"].fields["confirm"].label == (
        f"To confirm deletion, enter {key.access_key_id}"
    )
    assert refused.context["form"].errors["confirm"] == [
        f"The name you entered doesn't match. Enter {key.access_key_id} exactly as shown to "
        "delete it."
    ]
    assert response.status_code == 302
    assert not AccessKey.objects.filter(pk=key.pk).exists()


def test_create_access_key_command_with_fixed_values(account: Account) -> None:
    out = StringIO()

    call_command(
        "create_access_key", "--account", account.pk, "--access-key-id", "AKIDEXAMPLE",
        "--secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", stdout=out,
    )  # fmt: skip

    assert out.getvalue().splitlines() == [
        "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    ]
    assert (
        AccessKey.objects.get(access_key_id="AKIDEXAMPLE").secret()
        == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    )


def test_create_access_key_command_for_unknown_account(db: Any) -> None:
    with pytest.raises(CommandError, match=r"There is no account 999999999999\."):
        call_command("create_access_key", "--account", "999999999999")
