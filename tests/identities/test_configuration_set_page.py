"""A configuration set's page: details and the identities using it as their default, linked
from the configuration sets list and from an identity's Configuration set tab."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import ConfigurationSet, Identity

pytestmark = pytest.mark.django_db


def set_url(name: str = "transactional", region: str = "us-east-1") -> str:
    return reverse("identities:configuration_set_detail", kwargs={"region": region, "name": name})


@pytest.fixture
def config_set(account: Account, region: Region) -> ConfigurationSet:
    return ConfigurationSet.objects.create(account=account, region=region, name="transactional")


def test_page_lists_the_identities_using_the_set(
    owner_client: Client, config_set: ConfigurationSet, make_domain: Callable[..., Identity]
) -> None:
    domain = make_domain("example.com", configuration_set_name="transactional")
    make_domain("other.example")
    html = owner_client.get(set_url()).content.decode()
    tab = reverse(
        "identities:tab_configuration_set", kwargs={"region": "us-east-1", "name": domain.name}
    )
    assert f'<a href="{tab}">example.com</a>' in html
    assert "other.example" not in html
    assert 'Identities using it as their default <span class="counter">(1)</span>' in html


def test_list_and_identity_tab_link_to_the_page(
    owner_client: Client, config_set: ConfigurationSet, make_domain: Callable[..., Identity]
) -> None:
    domain = make_domain("example.com", configuration_set_name="transactional")
    link = f'<a href="{set_url()}">transactional</a>'
    sets = reverse("identities:configuration_sets", kwargs={"region": "us-east-1"})
    assert link in owner_client.get(sets).content.decode()
    tab = reverse(
        "identities:tab_configuration_set", kwargs={"region": "us-east-1", "name": domain.name}
    )
    assert link in owner_client.get(tab).content.decode()


def test_other_account_missing_set_and_method(
    outsider_client: Client, owner_client: Client, config_set: ConfigurationSet
) -> None:
    assert outsider_client.get(set_url()).status_code == 404
    assert owner_client.get(set_url("missing")).status_code == 404
    assert owner_client.get(set_url(region="eu-west-1")).status_code == 404
    assert owner_client.post(set_url()).status_code == 405
