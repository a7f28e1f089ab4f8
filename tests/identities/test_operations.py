"""identities.operations called directly: the rules every entry point shares.

tests/api/test_operations_entry_points.py drives the same changes through the console, the
API and admin; these cover what is easier to reach without an entry point in front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from identities import operations
from identities.models import Identity
from identities.validators import LimitExceededError, parse_byodkim_private_key
from tests.support.keys import der_base64, rsa_key

pytestmark = pytest.mark.django_db

POLICY = '{"Version": "2012-10-17", "Statement": []}'
ACTOR = "system (test)"


def history(identity: Identity) -> list[tuple[str, str, str]]:
    return list(identity.events.order_by("id").values_list("kind", "message", "actor"))[1:]


def test_put_policy_creates_then_replaces(make_email: Callable[..., Identity]) -> None:
    identity = make_email("sender@example.com")  # unverified: accepted, as AWS does

    operations.put_policy(identity, "p1", POLICY, actor=ACTOR)
    operations.put_policy(identity, "p1", '{"Version": "x"}', actor=ACTOR)

    assert dict(identity.policies.values_list("name", "document")) == {"p1": '{"Version": "x"}'}
    assert history(identity) == [
        ("policy", "Policy p1 created.", ACTOR),
        ("policy", "Policy p1 updated.", ACTOR),
    ]


def test_missing_policy_update_and_delete_change_and_record_nothing(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")

    operations.update_policy(identity, "missing", POLICY, actor=ACTOR)
    operations.delete_policy(identity, "missing", actor=ACTOR)

    assert (identity.policies.count(), history(identity)) == (0, [])


def test_tag_merges_and_counts_existing_tags(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    operations.set_tags(identity, [(f"k{i:02}", "old") for i in range(49)], actor=ACTOR)

    operations.tag(identity, [("k00", "new"), ("k49", "")], actor=ACTOR)  # one overwrite, one new
    with pytest.raises(LimitExceededError):
        operations.tag(identity, [("k50", "")], actor=ACTOR)

    tags = dict(identity.tags.values_list("key", "value"))
    assert (len(tags), tags["k00"], tags["k49"]) == (50, "new", "")
    assert [message for _, message, _ in history(identity)] == [
        "Tags saved: 49 tags.",
        "Tags saved: 50 tags.",
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda i: operations.use_easy_dkim(i, "RSA_1024_BIT", actor=ACTOR),
            "DKIM signing attributes can be set for domain identities only.",
        ),
        (
            lambda i: operations.use_byodkim(
                i, "sel", parse_byodkim_private_key(der_base64(rsa_key(1024))), actor=ACTOR
            ),
            "DKIM signing attributes can be set for domain identities only.",
        ),
        (
            lambda i: operations.set_dkim_key_length(i, "RSA_1024_BIT", actor=ACTOR),
            "The DKIM key length can be set for domain identities only.",
        ),
    ],
)
def test_domain_only_dkim_changes_refuse_an_address(
    make_email: Callable[..., Identity], call: Callable[[Identity], Any], message: str
) -> None:
    identity = make_email("sender@example.com")

    with pytest.raises(ValidationError) as exc_info:
        call(identity)

    assert exc_info.value.messages[0].startswith(message)
    assert history(identity) == []


def test_set_mail_from_refuses_an_unknown_behaviour(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")

    with pytest.raises(ValidationError) as exc_info:
        operations.set_mail_from(identity, "mail.example.com", "BOUNCE", actor=ACTOR)

    assert exc_info.value.messages == [
        "BehaviorOnMxFailure must be one of USE_DEFAULT_VALUE, REJECT_MESSAGE."
    ]
    assert (Identity.objects.get(pk=identity.pk).mail_from_domain, history(identity)) == ("", [])


def test_set_dkim_signing_to_the_current_value_records_nothing(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")

    operations.set_dkim_signing(identity, True, actor=ACTOR)

    assert history(identity) == []


def test_check_now_on_an_address_without_mail_from_does_nothing(
    make_email: Callable[..., Identity], queued_tasks: Callable[[], list[Any]]
) -> None:
    identity = make_email("sender@example.com")

    assert operations.check_now(identity, actor=ACTOR) is False
    assert history(identity) == []
