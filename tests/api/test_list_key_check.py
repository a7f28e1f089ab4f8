"""ListEmailIdentities checks a key seen before in the page's own round trip.

As SendEmail does (test_send_key_check.py): a request that verifies against the secret this
process remembers for its key runs the page's statement with the key's check (api.auth,
`Route.checks_key`), one round trip instead of two (a page that comes back empty asks the
check alone: an empty page says nothing of the key); any change to the key is answered on the
next request as the usual path answers it. The requests go through Django's test client in
this thread, so the wire can be traced (tests.support.wire).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import AccessKey, Account, Region
from identities.models import Identity, IdentityType

from .conftest import KeyPair
from .test_send_key_check import (
    INVALID_TOKEN,
    KEY_CHANGES,
    KEY_TABLE,
    Answer,
    against_the_usual_path,
    deactivate,
    signed_post,
)

PATH = "/v2/email/list-identities"
IDENTITY_TABLE = Identity._meta.db_table

pytestmark = pytest.mark.usefixtures("forget_verified_keys")


def add_identities(account: Account, region: Region, *names: str) -> None:
    Identity.objects.bulk_create(
        Identity(account=account, region=region, identity_type=IdentityType.DOMAIN, name=name)
        for name in names
    )


def list_page(client: Client, key: KeyPair, body: dict[str, Any] | None = None) -> Answer:
    """POST ListEmailIdentities signed with `key`: status, error type, JSON answer, the wire."""
    return signed_post(client, key, PATH, body or {})


def names(answer: dict[str, Any]) -> list[str]:
    return [item["IdentityName"] for item in answer["EmailIdentities"]]


def test_a_key_seen_before_lists_a_page_in_one_round_trip(
    client: Client, account: Account, region: Region, owner_key: KeyPair
) -> None:
    add_identities(account, region, "a.example", "b.example", "c.example")

    first_status, _, first, first_wire = list_page(client, owner_key, {"PageSize": 2})
    status, _, second, sent = list_page(client, owner_key, {"NextToken": first["NextToken"]})

    assert first_status == status == 200
    # The key read, its first-use UPDATE, the page.
    assert first_wire.round_trips == 3
    # The page with the key's check: one statement, prepared (a new shape: after a name).
    assert sent.round_trips == 1
    [statement] = sent.prepared
    assert IDENTITY_TABLE in statement
    assert KEY_TABLE in statement
    assert (names(first), names(second)) == (["a.example", "b.example"], ["c.example"])


@pytest.mark.parametrize(("change", "expected"), KEY_CHANGES)
def test_a_change_to_the_key_refuses_the_next_page_as_the_usual_path_does(
    client: Client,
    account: Account,
    region: Region,
    owner_key: KeyPair,
    change: Callable[[KeyPair, Account, Region], None],
    expected: tuple[int, str],
) -> None:
    add_identities(account, region, "a.example")
    assert list_page(client, owner_key)[0] == 200
    change(owner_key, account, region)

    (status, error, answer, sent), (usual_status, usual_error, usual_answer, _) = (
        against_the_usual_path(lambda: list_page(client, owner_key))
    )

    assert (status, error) == (usual_status, usual_error) == expected
    assert answer == usual_answer
    assert "a.example" not in json.dumps(answer)
    # The page, empty as the check failed; the check alone, as an empty page says nothing of
    # the key; then the key read on the usual path.
    assert sent.round_trips == 3


def test_an_empty_page_of_a_key_seen_before_asks_the_check_alone(
    client: Client, account: Account, region: Region, owner_key: KeyPair
) -> None:
    assert list_page(client, owner_key)[0] == 200

    status, _, answer, sent = list_page(client, owner_key)

    assert (status, answer) == (200, {"EmailIdentities": []})
    assert sent.round_trips == 2
    assert KEY_TABLE in sent.queries[0]  # the check alone, with client-side binding


def test_a_key_given_to_another_account_lists_only_that_accounts_identities(
    client: Client,
    account: Account,
    other_account: Account,
    region: Region,
    owner_key: KeyPair,
) -> None:
    """The account comes from the key's row, never from what the process remembered."""
    add_identities(account, region, "mine.example")
    add_identities(other_account, region, "theirs.example")
    assert names(list_page(client, owner_key)[2]) == ["mine.example"]
    AccessKey.objects.filter(access_key_id=owner_key.access_key_id).update(account=other_account)

    status, _, answer, _ = list_page(client, owner_key)

    assert status == 200
    assert names(answer) == ["theirs.example"]


def test_a_bad_token_of_a_changed_key_gets_the_keys_refusal_first(
    client: Client, account: Account, region: Region, owner_key: KeyPair
) -> None:
    """The token is refused before the page's statement runs; the usual path refuses the key
    before it looks at the body, and so does a key seen before."""
    assert list_page(client, owner_key)[0] == 200
    deactivate(owner_key, account, region)

    status, error, _, _ = list_page(client, owner_key, {"NextToken": "garbage"})

    assert (status, error) == INVALID_TOKEN


def test_a_filtered_page_of_a_key_seen_before_is_the_orms(
    client: Client, account: Account, region: Region, owner_key: KeyPair
) -> None:
    """The page's statement is compiled once per shape with placeholders for the values
    (api.identities `_page_sql`); its filters still select what the ORM's lookups select."""
    add_identities(account, region, "a_b.example", "axb.example", "a%b.example", "c.example")
    Identity.objects.filter(name="c.example").update(verification_status="SUCCESS")
    assert list_page(client, owner_key)[0] == 200

    contains = ["A_", "%", "\\", "B.EX"]  # LIKE's wildcards and escape match only themselves
    listed = [
        names(list_page(client, owner_key, {"Filter": {"IDENTITY_NAME_CONTAINS": text}})[2])
        for text in contains
    ]
    by_status = list_page(
        client, owner_key, {"Filter": {"VERIFICATION_STATUS": "SUCCESS", "IDENTITY_TYPE": "DOMAIN"}}
    )[2]

    identities = Identity.objects.order_by("name").values_list("name", flat=True)
    assert listed == [list(identities.filter(name__icontains=text)) for text in contains]
    assert listed[:2] == [["a_b.example"], ["a%b.example"]]
    assert names(by_status) == ["c.example"]
