"""pytest fixtures for a real Knot DNS server. Bind them in a test module (or a conftest):

    from tests.support import dns_fixtures

    knot_server = dns_fixtures.knot_server
    dns_zone = dns_fixtures.dns_zone

(Assignments rather than `from ... import dns_zone`: ruff reports F811 for every test whose
parameter has the name of an imported fixture.)

Without knotd the tests skip locally and fail in CI (CI=true), with the command to install it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.knot import INSTALL_HINT, KnotServer, find_knotd
from tests.support.services import require

# The root zone answers for any realistic name; the child zone gives tests a real zone apex
# (its own SOA, updates addressed to a zone other than ".").
ROOT_AND_CHILD = (".", "example.net")

# Test modules import the fixtures, so pytest registers one session fixture per module. They all
# share this one knotd, started by the first and closed when the last is torn down.
_shared: KnotServer | None = None
_users = 0


@pytest.fixture(scope="session")
def knot_server() -> Iterator[KnotServer]:
    """One knotd for the whole session on a free loopback port, serving "." and example.net."""
    global _shared, _users
    require(find_knotd() is not None, "Knot DNS (knotd)", f"Install it with: {INSTALL_HINT}")
    if _shared is None:
        _shared = KnotServer(zones=ROOT_AND_CHILD).start()
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0:
            _shared.close()
            _shared = None


@pytest.fixture
def dns_zone(knot_server: KnotServer) -> Iterator[KnotServer]:
    """The session's Knot server, emptied again after the test.

    Cleaning works from a zone transfer, so records published by the code under test are
    removed too, not only those added through the server's helpers.
    """
    yield knot_server
    if not knot_server.running:  # a test stopped it to simulate an outage
        knot_server.start()
    knot_server.reset()
