"""identities.hierarchy: which identity's settings apply to a sender address
(docs/design.md, flow 4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Account, Region
from identities.hierarchy import applicable_identity, dkim_signing_identity, explain
from identities.models import Identity, VerificationStatus


@pytest.fixture
def verified(
    make_domain: Callable[..., Identity], make_email: Callable[..., Identity]
) -> Callable[[str], Identity]:
    def make(name: str) -> Identity:
        identity = make_email(name) if "@" in name else make_domain(name)
        identity.mark_verified()
        return identity

    return make


def name_for(account: Account, region: Region, address: str) -> str | None:
    identity = applicable_identity(account, region, address)
    return identity.name if identity else None


def test_spec_example(
    account: Account, region: Region, verified: Callable[[str], Identity]
) -> None:
    for name in ("user@a.b.example.com", "a.b.example.com", "b.example.com", "example.com"):
        verified(name)
    assert name_for(account, region, "user@example.com") == "example.com"
    assert name_for(account, region, "user@a.b.example.com") == "user@a.b.example.com"
    assert name_for(account, region, "user@b.example.com") == "b.example.com"
    assert name_for(account, region, "other@a.b.example.com") == "a.b.example.com"
    assert name_for(account, region, "user@c.a.b.example.com") == "a.b.example.com"


def test_addresses_are_case_sensitive_domains_are_not(
    account: Account, region: Region, verified: Callable[[str], Identity]
) -> None:
    verified("sender@EXAMPLE.com")
    assert name_for(account, region, "sender@EXAMPLE.com") == "sender@EXAMPLE.com"
    assert name_for(account, region, "sender@example.com") is None
    assert name_for(account, region, "Sender@EXAMPLE.com") is None
    verified("example.org")
    assert name_for(account, region, "anyone@EXAMPLE.ORG") == "example.org"


def test_plus_label_maps_to_the_address(
    account: Account, region: Region, verified: Callable[[str], Identity]
) -> None:
    verified("sender@example.com")
    assert name_for(account, region, "sender+myLabel@example.com") == "sender@example.com"
    assert name_for(account, region, "sender+a+b@example.com") == "sender@example.com"


def test_unverified_identities_do_not_apply(
    account: Account,
    region: Region,
    make_email: Callable[..., Identity],
    verified: Callable[[str], Identity],
) -> None:
    make_email("sender@example.com")  # pending
    assert name_for(account, region, "sender@example.com") is None
    verified("example.com")
    lookup = explain(account, region, "sender@example.com")
    assert lookup.identity is not None
    assert lookup.identity.name == "example.com"
    assert [i.name for i in lookup.unverified] == ["sender@example.com"]


def test_other_accounts_and_regions_do_not_apply(
    account: Account, other_account: Account, region: Region, other_region: Region,
    verified: Callable[[str], Identity],
) -> None:  # fmt: skip
    verified("example.com")
    assert name_for(other_account, region, "a@example.com") is None
    assert name_for(account, other_region, "a@example.com") is None


def test_not_an_address(account: Account, region: Region) -> None:
    assert applicable_identity(account, region, "example.com") is None
    assert applicable_identity(account, region, "") is None


def test_dkim_signing_identity_needs_verified_dkim_and_signing(
    account: Account, region: Region, verified: Callable[[str], Identity]
) -> None:
    domain = verified("example.com")
    assert dkim_signing_identity(account, region, "a@mail.example.com") is None  # DKIM pending
    Identity.objects.filter(pk=domain.pk).update(dkim_status=VerificationStatus.SUCCESS)
    assert dkim_signing_identity(account, region, "a@mail.example.com").name == "example.com"
    Identity.objects.filter(pk=domain.pk).update(dkim_signing_enabled=False)
    assert dkim_signing_identity(account, region, "a@mail.example.com") is None
