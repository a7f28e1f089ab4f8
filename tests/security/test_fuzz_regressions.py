"""The 5xx answers the fuzzers found, each pinned by a test."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey
from tests.security.conftest import World

REGION = "us-east-1"


def test_nul_in_a_form_value_is_a_400_not_a_database_error(
    world: World, owner_client: Client
) -> None:
    """PostgreSQL can't compare text holding NUL: bulk delete used to answer 500."""
    response = owner_client.post(
        reverse("identities:bulk_delete", kwargs={"region": REGION}), {"identity": "\x00"}
    )

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_nul_in_a_path_or_query_is_a_400(world: World, owner_client: Client) -> None:
    assert owner_client.get(f"/{REGION}/verified-identities/a%00b/").status_code == 400
    assert owner_client.get(reverse("switch_region"), {"region": "\x00"}).status_code == 400


def test_nul_checks_leave_the_api_its_own_error_shape(world: World, api: Any) -> None:
    key = (world.access_key.access_key_id, world.access_key_secret)

    response = api(key, "GET", "/v2/email/identities/a%00b")

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"


def test_access_key_description_drops_control_characters(
    world: World, owner_client: Client
) -> None:
    response = owner_client.post(reverse("access_key_create"), {"description": "ci\tkey\r\n"})

    assert response.status_code == 200
    assert AccessKey.objects.filter(description="cikey").exists()


def test_remove_tag_with_a_non_ascii_digit_is_ignored(world: World, owner_client: Client) -> None:
    """ "²".isdigit() is true but int("²") fails: the row action used to answer 500."""
    response = owner_client.post(
        reverse("identities:create", kwargs={"region": REGION}),
        {"identity_type": "DOMAIN", "domain": "x.example", "tag_key": "k", "remove_tag": "²"},
    )

    assert response.status_code == 200
    assert response.context["form"].tag_rows[0].key == "k"


def test_edit_dkim_with_an_unknown_key_length_is_a_form_error(
    world: World, owner_client: Client
) -> None:
    path = reverse("identities:edit_dkim", kwargs={"region": REGION, "name": world.domain.name})

    response = owner_client.post(path, {"dkim_type": "AWS_SES", "key_length": "RSA_9999_BIT"})

    assert response.status_code == 200
    assert "is not one of the options" in response.content.decode()
