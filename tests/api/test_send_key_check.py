"""SendEmail checks a key seen before in its own first round trip instead of reading it first.

A request that verifies against the secret this process remembers for its key is sent with
a KeyCheck (api.auth, sending.operations): two round trips for an account without limits
instead of three. Every change to the key takes effect on the next request, answered as the
usual path answers it, with nothing stored. The requests go through Django's test client in
this thread, so the wire can be traced (tests.support.wire).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import Client
from django.utils import timezone

from accounts import actors
from accounts.models import AccessKey, Account, Region
from api import auth
from identities.models import Identity
from sending.models import SentMessage
from sesconsole import encryption
from tests.support import wire

from .conftest import REGION, KeyPair

PATH = "/v2/email/outbound-emails"
KEY_TABLE = AccessKey._meta.db_table
MESSAGE = {
    "FromEmailAddress": "sender@example.com",
    "Destination": {"ToAddresses": ["someone@elsewhere.test"]},
    "Content": {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hi."}}}},
}
INVALID_TOKEN = (403, "UnrecognizedClientException")


pytestmark = pytest.mark.usefixtures("forget_verified_keys")


@pytest.fixture
def key(owner_key: KeyPair) -> KeyPair:
    """The account's key (conftest's owner_key), named as every test here uses it."""
    return owner_key


def unlimited_production(account: Account, region: Region) -> None:
    """As bench/send.py sets the account up: no quota lock, so a send writes in one trip."""
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_send_rate, state.max_24_hour_send = -1, -1
    state.save(update_fields=["max_send_rate", "max_24_hour_send"])


@pytest.fixture
def sender(account: Account, region: Region, verified_domain: Callable[..., Identity]) -> None:
    verified_domain("example.com")
    unlimited_production(account, region)


# A signed request's status, error type, JSON answer and the wire.
Answer = tuple[int, str, dict[str, Any], wire.Wire]


def send_email(client: Client, key: KeyPair, body: dict[str, Any] | None = None) -> Answer:
    """POST SendEmail signed with `key`: status, error type, JSON answer and the wire."""
    return signed_post(client, key, PATH, MESSAGE if body is None else body)


def signed_post(client: Client, key: KeyPair, path: str, body: dict[str, Any]) -> Answer:
    """POST `body` to `path` signed with `key`: status, error type, JSON answer and the wire."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url="http://testserver" + path,
        data=data,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials(key.access_key_id, key.secret), "ses", REGION).add_auth(request)
    headers = {
        "host": "testserver",
        **{name.lower(): value for name, value in request.headers.items()},
    }
    del headers["content-type"]
    with wire.traced() as sent:
        response = client.post(path, data=data, content_type="application/json", headers=headers)
    error = response.headers.get("x-amzn-ErrorType", "")
    return response.status_code, error, response.json(), sent


def against_the_usual_path(call: Callable[[], Answer]) -> tuple[Answer, Answer]:
    """`call`'s answer for a key this process remembers, then the answer of a process that
    never saw the key (the usual path: the key read first)."""
    remembered = call()
    auth._verified_keys.clear()
    return remembered, call()


def test_a_key_seen_before_sends_in_two_round_trips(
    client: Client, account: Account, key: KeyPair, sender: None
) -> None:
    first_status, _, _, first_wire = send_email(client, key)
    status, _, answer, sent = send_email(client, key)

    assert first_status == status == 200
    # The key read, its first-use UPDATE, the settings and identities, the write.
    assert first_wire.round_trips == 4
    # The settings and identities with the key's check, then the write.
    assert sent.round_trips == 2
    assert KEY_TABLE in sent.queries[0]
    stored = SentMessage.objects.get(message_id=answer["MessageId"])
    assert (stored.account_id, stored.actor) == (account.pk, actors.api(key.access_key_id))


def test_the_first_send_of_a_process_reads_the_key_first(
    client: Client, account: Account, key: KeyPair, sender: None
) -> None:
    AccessKey.objects.filter(access_key_id=key.access_key_id).update(last_used_at=timezone.now())

    status, _, answer, sent = send_email(client, key)

    assert status == 200
    # The key read (a prepared statement), the settings and identities, the write.
    assert sent.round_trips == 3
    assert not any(KEY_TABLE in query for query in sent.queries)  # no check in the batch
    assert SentMessage.objects.get(message_id=answer["MessageId"]).account_id == account.pk
    assert key.access_key_id in auth._verified_keys


def deactivate(key: KeyPair, account: Account, region: Region) -> None:
    AccessKey.objects.get(access_key_id=key.access_key_id).deactivate()


def delete(key: KeyPair, account: Account, region: Region) -> None:
    AccessKey.objects.filter(access_key_id=key.access_key_id).delete()


def rotate_secret(key: KeyPair, account: Account, region: Region) -> None:
    new_secret = encryption.encrypt("another-secret-another-secret-another-00")
    AccessKey.objects.filter(access_key_id=key.access_key_id).update(secret_encrypted=new_secret)


def issue_again(key: KeyPair, account: Account, region: Region) -> None:
    """The same key id deleted and issued again, with another secret."""
    AccessKey.objects.filter(access_key_id=key.access_key_id).delete()
    AccessKey.issue(account, access_key_id=key.access_key_id)


def disable_region(key: KeyPair, account: Account, region: Region) -> None:
    Region.objects.filter(pk=region.pk).update(enabled=False)


# Each change to a key seen before, and how the usual path answers the key's next request.
KEY_CHANGES = [
    (deactivate, INVALID_TOKEN),
    (delete, INVALID_TOKEN),
    (rotate_secret, (403, "SignatureDoesNotMatch")),
    (issue_again, (403, "SignatureDoesNotMatch")),
    (disable_region, (403, "InvalidSignatureException")),
]


@pytest.mark.parametrize(("change", "expected"), KEY_CHANGES)
def test_a_change_to_the_key_refuses_the_next_send_as_the_usual_path_does(
    client: Client,
    account: Account,
    region: Region,
    key: KeyPair,
    sender: None,
    change: Callable[[KeyPair, Account, Region], None],
    expected: tuple[int, str],
) -> None:
    assert send_email(client, key)[0] == 200
    change(key, account, region)

    (status, error, answer, sent), (usual_status, usual_error, usual_answer, _) = (
        against_the_usual_path(lambda: send_email(client, key))
    )

    assert (status, error) == (usual_status, usual_error) == expected
    assert answer == usual_answer
    # The check with the settings, then the key read on the usual path; nothing written.
    assert sent.round_trips == 2
    assert SentMessage.objects.count() == 1


def test_a_key_given_to_another_account_sends_only_as_that_account(
    client: Client,
    account: Account,
    other_account: Account,
    region: Region,
    key: KeyPair,
    sender: None,
    verified_domain: Callable[..., Identity],
) -> None:
    """The account comes from the key's row, never from what the process remembered."""
    assert send_email(client, key)[0] == 200
    AccessKey.objects.filter(access_key_id=key.access_key_id).update(account=other_account)

    refused = send_email(client, key)  # example.com is the first account's, not the other's
    verified_domain("example.com", acct=other_account)
    unlimited_production(other_account, region)
    status, _, answer, _ = send_email(client, key)

    assert refused[:2] == (400, "MessageRejected")
    assert status == 200
    stored = SentMessage.objects.get(message_id=answer["MessageId"])
    assert stored.account_id == other_account.pk
    assert SentMessage.objects.filter(account=account).count() == 1


def test_a_request_refused_before_the_check_still_gets_the_keys_refusal_first(
    client: Client, account: Account, region: Region, key: KeyPair, sender: None
) -> None:
    """The body is refused before send() runs its statement; the usual path refuses the key
    before it looks at the body, and so does a key seen before."""
    assert send_email(client, key)[0] == 200
    deactivate(key, account, region)
    templated = {**MESSAGE, "Content": {"Template": {"TemplateName": "welcome"}}}

    status, error, _, _ = send_email(client, key, templated)

    assert (status, error) == INVALID_TOKEN
    assert SentMessage.objects.count() == 1


def test_a_refused_send_of_a_key_seen_before_answers_as_the_usual_path(
    client: Client, key: KeyPair, sender: None
) -> None:
    assert send_email(client, key)[0] == 200
    unverified = {**MESSAGE, "FromEmailAddress": "sender@unverified.test"}

    (status, error, answer, _), usual = against_the_usual_path(
        lambda: send_email(client, key, unverified)
    )

    assert (status, error, answer) == usual[:3]
    assert (status, error) == (400, "MessageRejected")


def test_last_use_is_recorded_at_most_once_a_minute_without_the_key_read(
    client: Client, key: KeyPair, sender: None
) -> None:
    start = timezone.now()
    stored = AccessKey.objects.filter(access_key_id=key.access_key_id)
    with time_machine.travel(start, tick=False) as clock:
        send_email(client, key)
        clock.shift(timedelta(seconds=30))
        within_a_minute = send_email(client, key)[3]
        used_within = stored.get().last_used_at
        clock.shift(timedelta(seconds=31))
        after_a_minute = send_email(client, key)[3]
        used_after = stored.get().last_used_at

    assert used_within == start
    assert within_a_minute.round_trips == 2
    assert used_after == start + timedelta(seconds=61)
    assert after_a_minute.round_trips == 3  # and the UPDATE
