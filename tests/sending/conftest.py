"""Fixtures for sending: the shared ones (tests/support/sending_fixtures.py) and an Outgoing
factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts import actors
from accounts.models import Account, Region
from sending.operations import Outgoing, Simple
from tests.support.sending_fixtures import (  # noqa: F401 (fixtures)
    dkim_domain,
    production,
    relay,
    verified_domain,
    verified_email,
)


@pytest.fixture
def outgoing(account: Account, region: Region) -> Callable[..., Outgoing]:
    """A Simple message from sender@example.com to success@simulator, overridable."""

    def make(**kwargs: Any) -> Outgoing:
        values: dict[str, Any] = {
            "account": account,
            "region": region.code,
            "actor": actors.system("tests"),
            "from_address": "sender@example.com",
            "to": ["success@simulator.amazonses.com"],
            "simple": Simple(subject="Hello", text="Hi there."),
            **kwargs,
        }
        return Outgoing(**values)

    return make
