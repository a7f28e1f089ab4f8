"""The Sent messages filters: From and To take an address or a domain and ignore case; each is
answered by an index on PostgreSQL (migration 0004) and by the same rule elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import Identity
from sending import models
from sending.forms import SentFilterForm
from sending.models import SentMessage
from sending.operations import Outgoing, Simple, send


@pytest.fixture(params=["index", "text"])
def recipient_rule(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL's indexed recipient keys, and the text rule other databases use."""
    if request.param == "text":
        monkeypatch.setattr(models, "has_recipient_keys", lambda: False)
    return str(request.param)


@pytest.fixture
def messages(account: Account, region: Region, other_account: Account) -> dict[str, SentMessage]:
    def make(name: str, sender: str, recipients: list[str], acct: Account = account) -> SentMessage:
        return SentMessage.objects.create(
            account=acct, region=region, message_id=name, actor="tests", operation="SendEmail",
            from_address=sender, envelope_from=sender, recipients=recipients,
            recipients_text=", ".join(recipients), mime=b"x",
        )  # fmt: skip

    return {
        "jane": make("jane", "Jane@Example.com", ["Bob@Customer.test"]),
        "news": make("news", "news@mail.example.com", ["ann@customer.test", "cy@other.test"]),
        "lookalike": make("lookalike", "jane@example.com.evil", ["bob@customer.test.evil"]),
        "theirs": make("theirs", "jane@example.com", ["bob@customer.test"], other_account),
    }


def found(account: Account, region: Region, query: str) -> set[str]:
    form = SentFilterForm(QueryDict(query))
    assert form.is_valid(), form.errors
    queryset = form.filter(SentMessage.objects.in_scope(account, region))
    return set(queryset.values_list("message_id", flat=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sender=jane@example.com", {"jane"}),  # the address, whatever its case
        ("sender=JANE@EXAMPLE.COM", {"jane"}),
        ("sender=example.com", {"jane"}),  # the domain, not its subdomains
        ("sender=@Mail.Example.com", {"news"}),
        ("sender=jane", set()),  # no prefixes or fragments: an address or a domain
        ("recipient=bob@customer.test", {"jane"}),
        ("recipient=customer.test", {"jane", "news"}),
        ("recipient=CY@other.test", {"news"}),
        ("recipient=other.test&sender=example.com", set()),
        ("recipient=customer.test.evil", {"lookalike"}),
    ],
)
def test_from_and_to_match_an_address_or_a_domain(
    account: Account, region: Region, messages: dict[str, SentMessage], recipient_rule: str,
    query: str, expected: set[str],
) -> None:  # fmt: skip
    assert found(account, region, query) == expected


def test_a_message_stored_by_send_is_found_by_its_recipient(
    account: Account, region: Region, production: None,
    verified_domain: Callable[..., Identity], recipient_rule: str,
) -> None:  # fmt: skip
    verified_domain("example.com")
    sent = send(
        Outgoing(
            account=account, region=region.code, actor="tests", from_address="a@example.com",
            to=["To@X.test"], cc=["cc@y.test"], simple=Simple(subject="s", text="t"),
        )
    )  # fmt: skip
    assert found(account, region, "recipient=to@x.test") == {sent.message_id}
    assert found(account, region, "recipient=y.test") == {sent.message_id}


@pytest.mark.parametrize("value", ["a b@example.com", "jane@", "@"])
def test_a_value_that_is_neither_address_nor_domain_is_explained(
    owner_client: Client, value: str, region: Region
) -> None:
    url = reverse("sending:list", kwargs={"region": region.code})
    page = owner_client.get(url, {"recipient": value}).content.decode()
    assert "Enter an email address (jane@example.com) or a domain (example.com)." in page


def test_the_kind_filter_is_refused_when_unknown(owner_client: Client, region: Region) -> None:
    url = reverse("sending:list", kwargs={"region": region.code})
    page = owner_client.get(url, {"kind": "nonsense"})
    assert page.status_code == 200
    assert "Select a valid choice." in page.content.decode()


def test_outsiders_filter_only_their_own(
    other_account: Account, region: Region, messages: dict[str, SentMessage], recipient_rule: Any
) -> None:
    assert found(other_account, region, "sender=example.com") == {"theirs"}
