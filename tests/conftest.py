"""Shared fixtures: personas (owner, teammate, outsider, operator) and identity factories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Account, Membership, Region
from accounts.regions import seed_regions
from identities import operations, provisioning
from identities.models import Identity, IdentityType
from sesconsole import validators
from tests.support.services import require

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config: pytest.Config) -> None:
    # Work queued by the code under test goes to kombu's in-memory transport: a real broker
    # that `queued_tasks` can read back. Integration tests start workers on their own broker.
    from sesconsole.celery import app

    app.conf.broker_url = "memory://"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread from its first
    # test to the end of the session, and asyncio.run() (the DNS resolver) refuses to run
    # under it: browser tests go last. The sort is stable, so the rest keep their order.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def queued_tasks() -> Callable[[], list[tuple[str, dict[str, Any]]]]:
    """Read back (task name, kwargs) of every message published since the fixture started."""
    from tests.support.broker import drain_published

    def drain() -> list[tuple[str, dict[str, Any]]]:
        return [(headers["task"], kwargs) for headers, kwargs in drain_published()]

    drain()  # start empty: other tests' messages are not this test's
    return drain


@pytest.fixture(autouse=True)
def loopback_dns_only(settings: Any) -> None:
    # No test may query the machine's resolver (the public internet). DNS tests point these
    # at their Knot server; everything else gets a closed loopback port and a short timeout.
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = 9
    settings.DNS_TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every persona creates a user with a password; PBKDF2's deliberate slowness (about 0.3 s
    # a user) would dominate the suite and proves nothing about sesconsole.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str, account: Account | None, *, staff: bool = False) -> Any:
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff
    )
    if account is not None:
        Membership.objects.create(user=user, account=account)
    return user


@pytest.fixture
def regions(db: None) -> None:
    # Transactional tests flush the tables the migration seeded, so seed again when needed.
    if not Region.objects.exists():
        seed_regions(Region)


@pytest.fixture
def region(regions: None) -> Region:
    return Region.objects.get(code="us-east-1")


@pytest.fixture
def other_region(regions: None) -> Region:
    return Region.objects.get(code="eu-west-1")


@pytest.fixture
def account(db: None) -> Account:
    return Account.objects.create(id="111111111111", name="Owner's account")


@pytest.fixture
def other_account(db: None) -> Account:
    return Account.objects.create(id="222222222222", name="Outsider's account")


@pytest.fixture
def owner(account: Account) -> Any:
    user = _user("owner", account)
    user.membership.role = Membership.Role.OWNER
    user.membership.save()
    return user


@pytest.fixture
def teammate(account: Account) -> Any:
    return _user("teammate", account)


@pytest.fixture
def outsider(other_account: Account) -> Any:
    return _user("outsider", other_account)


@pytest.fixture
def operator(db: None) -> Any:
    user = _user("operator", None, staff=True)
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def staff_member(account: Account) -> Any:
    """An operator who is also an owner of the account, as the demo login of `make run` is."""
    user = _user("staff-member", account, staff=True)
    user.is_superuser = True
    user.save()
    user.membership.role = Membership.Role.OWNER
    user.membership.save()
    return user


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner: Any) -> Client:
    return _client_for(owner)


@pytest.fixture
def teammate_client(teammate: Any) -> Client:
    return _client_for(teammate)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    return _client_for(outsider)


@pytest.fixture
def operator_client(operator: Any) -> Client:
    return _client_for(operator)


@pytest.fixture
def staff_client(staff_member: Any) -> Client:
    return _client_for(staff_member)


@pytest.fixture
def make_domain(account: Account, region: Region) -> Callable[..., Identity]:
    """Create a domain identity through the same path as the console and the API."""

    def make(
        name: str = "example.com",
        *,
        acct: Account | None = None,
        reg: Region | None = None,
        **kwargs: Any,
    ) -> Identity:
        spec = provisioning.NewIdentity(
            identity_type=IdentityType.DOMAIN, name=validators.normalize_domain(name), **kwargs
        )
        return operations.create_identity(acct or account, reg or region, spec, actor="test")

    return make


@pytest.fixture
def make_email(account: Account, region: Region) -> Callable[..., Identity]:
    def make(
        address: str = "sender@example.com",
        *,
        acct: Account | None = None,
        reg: Region | None = None,
        **kwargs: Any,
    ) -> Identity:
        spec = provisioning.NewIdentity(
            identity_type=IdentityType.EMAIL_ADDRESS,
            name=validators.normalize_email(address),
            **kwargs,
        )
        return operations.create_identity(acct or account, reg or region, spec, actor="test")

    return make


# --- browser tests (Debian's chromium, never a downloaded browser) ----------------------------
def chromium_path() -> str | None:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    require(path is not None, "Debian's chromium", "Install it with: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": path,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
