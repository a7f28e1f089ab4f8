"""Fixtures for the SES v2 API tests: a live server, access keys, boto3 clients, raw signing."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import time_machine
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from accounts.models import AccessKey, Account, Region
from accounts.regions import SES_REGIONS
from api import auth
from tests.support.sending_fixtures import (  # noqa: F401 (fixtures for test_sending_api)
    dkim_domain,
    production,
    relay,
    verified_domain,
    verified_email,
)

REGION = "us-east-1"


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret: str


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="session", autouse=True)
def _fast_live_server() -> None:
    """Answer boto3's keep-alive requests without the ~40 ms Nagle/delayed-ACK stall.

    Django's test server writes headers and body separately; without TCP_NODELAY every call
    waits for the client's delayed ACK (docs/design.md, "The test server and keep-alive").
    Only the test server is touched.
    """
    from django.core.servers.basehttp import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True


@pytest.fixture(autouse=True)
def _regions(transactional_db: None) -> None:
    """live_server tests flush the database after each test, seeded regions included."""
    Region.objects.bulk_create(
        [Region(code=code, name=name, dkim_signing_zone=zone) for code, name, zone in SES_REGIONS],
        ignore_conflicts=True,
    )


@pytest.fixture
def forget_verified_keys() -> Iterator[None]:
    """Start and end with a process that has verified no key yet (api.auth remembers them)."""
    auth._verified_keys.clear()
    yield
    auth._verified_keys.clear()


@pytest.fixture(scope="session")
def boto_session() -> boto3.Session:
    # One session: botocore loads and caches the sesv2 model once for every client.
    return boto3.Session()


@pytest.fixture
def owner_key(account: Account) -> KeyPair:
    key, secret = AccessKey.issue(account, description="tests")
    return KeyPair(key.access_key_id, secret)


@pytest.fixture
def outsider_key(other_account: Account) -> KeyPair:
    key, secret = AccessKey.issue(other_account, description="outsider")
    return KeyPair(key.access_key_id, secret)


@pytest.fixture
def make_client(live_server: Any, boto_session: boto3.Session) -> Callable[..., Any]:
    def make(key: KeyPair, region: str = REGION, secret: str | None = None) -> Any:
        return boto_session.client(
            "sesv2",
            region_name=region,
            endpoint_url=live_server.url,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=secret or key.secret,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    return make


@pytest.fixture
def ses(make_client: Callable[..., Any], owner_key: KeyPair) -> Any:
    """A boto3 sesv2 client for the owner's account in us-east-1."""
    return make_client(owner_key)


@pytest.fixture
def outsider_ses(make_client: Callable[..., Any], outsider_key: KeyPair) -> Any:
    return make_client(outsider_key)


def send_signed(
    base_url: str,
    key: KeyPair | None,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    query: str = "",
    region: str = REGION,
    signed_at: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawResponse:
    """Sign like botocore (optionally at another time) and send with http.client, as is."""
    url = base_url + path + (f"?{query}" if query else "")
    all_headers = (
        {"Content-Type": "application/json", **(headers or {})} if body else dict(headers or {})
    )
    request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
    if key is not None:
        credentials = Credentials(key.access_key_id, key.secret)
        if signed_at is None:
            SigV4Auth(credentials, "ses", region).add_auth(request)
        else:
            with time_machine.travel(signed_at, tick=False):
                SigV4Auth(credentials, "ses", region).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = path + (f"?{query}" if query else "")
        connection.request(method, target, body=body or None, headers=dict(prepared.headers))
        response = connection.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@pytest.fixture
def raw(live_server: Any, owner_key: KeyPair) -> Callable[..., RawResponse]:
    """Send a raw request signed with the owner's key (key=None: unsigned)."""

    def call(
        method: str, path: str, *, key: KeyPair | str | None = "owner", **kwargs: Any
    ) -> RawResponse:
        chosen = owner_key if key == "owner" else key
        assert not isinstance(chosen, str)
        return send_signed(live_server.url, chosen, method, path, **kwargs)

    return call


def error_of(exc_info: pytest.ExceptionInfo[Any]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ClientError."""
    response = exc_info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )
