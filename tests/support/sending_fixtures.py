"""Fixtures for sending tests (tests/sending, tests/api): verified identities, the relay.

Imported by those conftest modules, so both the direct tests of sending.operations and the
boto3 tests against the live server share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import Account, Region
from identities.models import Identity, KeyLength, VerificationStatus
from identities.provisioning import EasyDkim
from identities.tasks import generate_easy_dkim_keys
from tests.support.smtp_server import SmtpSink, relay_for_django


@pytest.fixture
def relay(settings: Any) -> Iterator[SmtpSink]:
    """aiosmtpd on 127.0.0.1:<free port>; Django's SMTP backend (EMAIL_HOST) pointed at it."""
    with relay_for_django(settings) as sink:
        yield sink


def verified(identity: Identity) -> Identity:
    Identity.objects.filter(pk=identity.pk).update(
        dkim_status=VerificationStatus.SUCCESS, verification_status=VerificationStatus.SUCCESS
    )
    identity.refresh_from_db()
    return identity


@pytest.fixture
def verified_domain(make_domain: Callable[..., Identity]) -> Callable[..., Identity]:
    def make(name: str = "example.com", **kwargs: Any) -> Identity:
        return verified(make_domain(name, **kwargs))

    return make


@pytest.fixture
def verified_email(make_email: Callable[..., Identity]) -> Callable[..., Identity]:
    def make(address: str = "sender@example.com", **kwargs: Any) -> Identity:
        identity = make_email(address, **kwargs)
        identity.mark_verified()
        return identity

    return make


@pytest.fixture
def dkim_domain(make_domain: Callable[..., Identity]) -> Identity:
    """example.com, verified, with Easy DKIM keys (1024-bit to keep tests quick)."""
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    generate_easy_dkim_keys.run(identity_id=identity.pk)
    return verified(identity)


@pytest.fixture
def production(account: Account, region: Region) -> None:
    account.region_settings(region).grant_production_access()
