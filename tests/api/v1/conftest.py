"""Fixtures for the SES v1 Query API tests: boto3's `ses` client against the live server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from accounts.models import Account, Region
from identities.models import Identity, IdentityType

from ..conftest import REGION, KeyPair


@pytest.fixture
def make_v1_client(live_server: Any, boto_session: boto3.Session) -> Callable[..., Any]:
    def make(key: KeyPair, region: str = REGION, service: str = "ses") -> Any:
        return boto_session.client(
            service,
            region_name=region,
            endpoint_url=live_server.url,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    return make


@pytest.fixture
def v1(make_v1_client: Callable[..., Any], owner_key: KeyPair) -> Any:
    """boto3's SES v1 (`ses`) client for the owner's account in us-east-1."""
    return make_v1_client(owner_key)


@pytest.fixture
def v2(make_v1_client: Callable[..., Any], owner_key: KeyPair) -> Any:
    """boto3's `sesv2` client for the same account and region, for v1 <-> v2 round trips."""
    return make_v1_client(owner_key, service="sesv2")


@pytest.fixture
def verified(account: Account) -> Callable[[str], Identity]:
    """Make a verified identity (domain or address) in us-east-1, as if DNS or a click had."""

    def make(name: str) -> Identity:
        kind = IdentityType.EMAIL_ADDRESS if "@" in name else IdentityType.DOMAIN
        identity = Identity.objects.create(
            account=account, region=Region.objects.get(code=REGION), identity_type=kind, name=name
        )
        identity.mark_verified()
        return identity

    return make
