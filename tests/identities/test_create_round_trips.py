"""`operations.create_identity` outside a transaction (an API call, a console POST): the
transaction's BEGIN goes with the identity's insert and the region's count, its COMMIT alone
(`sql.transaction_in_two_queries`), and a refusal or a duplicate leaves no transaction open and
no count row locked. Read from libpq's protocol trace: Django's query capture does not see the
BEGIN and COMMIT psycopg sends for `transaction.atomic()`."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from pytest_django import Settings

from accounts.models import Account, Region
from identities import provisioning
from identities.models import Identity, IdentityCount, IdentityEvent, Tag
from sesconsole.validators import AlreadyExistsError, LimitExceededError, TagPair
from tests.support import wire

pytestmark = pytest.mark.django_db(transaction=True)


def count_row_is_locked(account: Account, region: Region) -> bool:
    """Whether another connection finds the account's IdentityCount row in `region` locked."""

    def try_lock() -> bool:
        try:
            with transaction.atomic():
                IdentityCount.objects.select_for_update(nowait=True).get(
                    account=account, region=region
                )
        except OperationalError:
            return True
        finally:
            connection.close()
        return False

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(try_lock).result(timeout=10)


@pytest.mark.parametrize("kind", ["domain", "address"])
def test_a_create_is_two_queries_begin_with_the_insert_and_commit(
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
    account: Account,
    region: Region,
    kind: str,
) -> None:
    make_domain("first.example.com")  # the account's count row exists already
    with wire.traced() as sent:
        if kind == "domain":
            identity = make_domain("example.com")
        else:
            identity = make_email("sender@example.com")

    assert len(sent.queries) == 2, sent.queries
    assert sent.queries[0].startswith("BEGIN; WITH new_parent AS (INSERT INTO")
    assert f'FROM "{IdentityCount._meta.db_table}"' in sent.queries[0]
    assert sent.queries[1] == "COMMIT"
    assert sent.transaction_states == ["T", "I"]
    assert connection.get_autocommit()
    assert Identity.objects.get(pk=identity.pk).name == identity.name
    assert IdentityEvent.objects.get(identity=identity).kind == "created"
    assert provisioning.identity_count(account, region) == 2
    assert not count_row_is_locked(account, region)


def test_an_accounts_first_identity_in_a_region_is_two_queries_too(
    make_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    with wire.traced() as sent:
        make_domain("example.com")

    assert [q.split(";")[0] for q in sent.queries] == ["BEGIN", "COMMIT"]
    assert provisioning.identity_count(account, region) == 1


def test_a_create_past_the_limit_rolls_back_and_unlocks_the_count(
    make_domain: Callable[..., Identity],
    settings: Settings,
    account: Account,
    region: Region,
    other_region: Region,
) -> None:
    settings.MAX_IDENTITIES_PER_REGION = 1
    make_domain("a.example.com")
    with wire.traced() as sent, pytest.raises(LimitExceededError) as refused:
        make_domain("b.example.com")

    assert refused.value.code == "limit"
    assert [q.split(";")[0] for q in sent.queries] == ["BEGIN", "ROLLBACK"]
    assert sent.transaction_states == ["T", "I"]
    assert list(Identity.objects.values_list("name", flat=True)) == ["a.example.com"]
    assert provisioning.identity_count(account, region) == 1
    assert not count_row_is_locked(account, region)
    assert make_domain("b.example.com", reg=other_region).region == other_region


def test_a_duplicate_rolls_back_and_the_connection_answers(
    make_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    make_domain("example.com")
    with wire.traced() as sent, pytest.raises(AlreadyExistsError) as duplicate:
        make_domain("EXAMPLE.com")

    assert duplicate.value.messages == ["example.com already exists as an identity in us-east-1."]
    assert [q.split(";")[0] for q in sent.queries] == ["BEGIN", "ROLLBACK"]
    assert sent.transaction_states == ["E", "I"]  # the insert failed; the ROLLBACK ended it
    assert connection.get_autocommit()
    assert not count_row_is_locked(account, region)
    assert make_domain("example.net").name == "example.net"  # the connection sends again


def test_a_create_with_tags_is_one_transaction_and_past_the_limit_leaves_nothing(
    make_domain: Callable[..., Identity], settings: Settings, account: Account, region: Region
) -> None:
    tags = [TagPair("team", "mail"), TagPair("env", "prod")]
    tagged = make_domain("tagged.example.com", tags=tags)
    settings.MAX_IDENTITIES_PER_REGION = 1
    with wire.traced() as sent, pytest.raises(LimitExceededError):
        make_domain("more.example.com", tags=tags)

    assert sorted(Tag.objects.values_list("identity__name", "key")) == [
        ("tagged.example.com", "env"),
        ("tagged.example.com", "team"),
    ]
    assert sent.queries[-1] == "ROLLBACK"
    assert sent.transaction_states[-1] == "I"
    assert connection.get_autocommit()
    assert tagged.tags.count() == 2
    assert not count_row_is_locked(account, region)


def test_an_exception_after_the_insert_rolls_back(
    make_domain: Callable[..., Identity],
    monkeypatch: pytest.MonkeyPatch,
    account: Account,
    region: Region,
) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("between the two queries")

    monkeypatch.setattr(provisioning, "check_identity_limit", fail)
    with pytest.raises(RuntimeError):
        make_domain("example.com")

    assert Identity.objects.count() == 0
    assert provisioning.identity_count(account, region) == 0
    assert connection.get_autocommit()
