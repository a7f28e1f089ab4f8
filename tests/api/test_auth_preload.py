"""GetEmailIdentity reads the key and the identity in one statement, once the signature holds.

The requests go through Django's test client in this thread, so the queries each one makes can
be counted; the path is re-encoded as botocore sends it (api.auth.raw_path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import AccessKey, Account, Region
from api import auth
from identities.models import Identity

from .conftest import REGION, KeyPair

IDENTITY_TABLE = Identity._meta.db_table

pytestmark = pytest.mark.usefixtures("forget_verified_keys")


@pytest.fixture
def key(account: Account) -> KeyPair:
    issued, secret = AccessKey.issue(account, description="preload")
    return KeyPair(issued.access_key_id, secret)


def get_identity(client: Client, key: KeyPair, name: str) -> tuple[int, dict[str, Any], list[str]]:
    """GET the identity signed with `key`: status, JSON answer and the SQL it ran."""
    path = f"/v2/email/identities/{name}"
    request = AWSRequest(method="GET", url="http://testserver" + path)
    SigV4Auth(Credentials(key.access_key_id, key.secret), "ses", REGION).add_auth(request)
    # botocore signs the URL's host but leaves sending the Host header to the HTTP library.
    headers = {"host": "testserver", **{name.lower(): v for name, v in request.headers.items()}}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers=headers)
    return response.status_code, response.json(), [query["sql"] for query in queries]


def test_a_key_seen_before_reads_itself_and_the_identity_in_one_statement(
    client: Client, key: KeyPair, make_domain: Callable[..., Identity]
) -> None:
    make_domain("one.example.com")

    first_status, first, first_queries = get_identity(client, key, "one.example.com")
    status, answer, queries = get_identity(client, key, "one.example.com")

    assert first_status == status == 200
    assert answer == first
    assert answer["IdentityType"] == "DOMAIN"
    # First the key alone, to verify the signature (then a first-use UPDATE, and the identity).
    assert IDENTITY_TABLE not in first_queries[0]
    assert len(queries) == 1
    assert IDENTITY_TABLE in queries[0]
    assert AccessKey._meta.db_table in queries[0]


def test_a_missing_identity_is_not_found_from_the_one_statement(
    client: Client, key: KeyPair, make_domain: Callable[..., Identity]
) -> None:
    make_domain("one.example.com")
    get_identity(client, key, "one.example.com")

    status, answer, queries = get_identity(client, key, "absent.example.com")

    assert status == 404
    assert answer == {"message": "Email identity absent.example.com does not exist in us-east-1."}
    assert len(queries) == 1


def test_a_bad_signature_reads_no_identity_even_for_a_key_seen_before(
    client: Client, key: KeyPair, make_domain: Callable[..., Identity]
) -> None:
    make_domain("one.example.com")
    get_identity(client, key, "one.example.com")

    status, answer, queries = get_identity(
        client, KeyPair(key.access_key_id, "not-the-secret-" * 3), "one.example.com"
    )

    assert status == 403
    assert answer["message"].startswith("The request signature we calculated does not match")
    assert queries
    assert not any(IDENTITY_TABLE in sql for sql in queries)


def test_a_key_deactivated_after_use_is_refused_on_its_next_request(
    client: Client, key: KeyPair, make_domain: Callable[..., Identity]
) -> None:
    make_domain("one.example.com")
    get_identity(client, key, "one.example.com")
    AccessKey.objects.get(access_key_id=key.access_key_id).deactivate()

    status, answer, _ = get_identity(client, key, "one.example.com")

    assert status == 403
    assert answer == {"message": "The security token included in the request is invalid."}


def test_a_key_id_issued_again_with_another_secret_takes_only_the_new_secret(
    client: Client, account: Account, key: KeyPair, make_domain: Callable[..., Identity]
) -> None:
    make_domain("one.example.com")
    get_identity(client, key, "one.example.com")
    AccessKey.objects.filter(access_key_id=key.access_key_id).delete()
    _, new_secret = AccessKey.issue(account, access_key_id=key.access_key_id)
    renewed = KeyPair(key.access_key_id, new_secret)

    old_status, _, _ = get_identity(client, key, "one.example.com")
    new_status, _, _ = get_identity(client, renewed, "one.example.com")
    again_status, _, again_queries = get_identity(client, renewed, "one.example.com")

    assert old_status == 403
    assert new_status == again_status == 200
    assert len(again_queries) == 1


def test_the_one_statement_keeps_to_the_keys_account_and_region(
    client: Client,
    account: Account,
    key: KeyPair,
    other_account: Account,
    region: Region,
    other_region: Region,
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("one.example.com")
    get_identity(client, key, "one.example.com")
    Identity.objects.create(account=other_account, region=region, name="theirs.example.com")
    Identity.objects.create(account=account, region=other_region, name="away.example.com")

    theirs, _, theirs_queries = get_identity(client, key, "theirs.example.com")
    away, _, _ = get_identity(client, key, "away.example.com")

    assert theirs == away == 404
    assert len(theirs_queries) == 1


def test_received_headers_are_what_django_reads_by_lower_case_name() -> None:
    request = RequestFactory().post(
        "/v2/email/identities",
        data=b'{"EmailIdentity": "example.com"}',
        content_type="application/json",
        headers={
            "X-Amz-Date": "20261126T120000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=x",
            "X-Amz-Security-Token": "token",
            "User-Agent": "Boto3/1.x",
        },
    )

    received = auth.received_headers(request.META)

    assert received == {name.lower(): value for name, value in request.headers.items()}
    assert received["content-type"] == "application/json"
    assert received["x-amz-security-token"] == "token"
