"""api.middleware: API requests skip the console's middleware and keep what they need.

Through Django's whole handler (test client) and a live server, so the real middleware chain
of settings.MIDDLEWARE runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from .conftest import RawResponse

pytestmark = pytest.mark.django_db

REQUEST_ID = re.compile(r"[0-9a-f-]{36}")


def assert_api_headers(response: Any, content: bytes) -> None:
    """What every API answer carries, and none of the console's HTML-only headers."""
    assert REQUEST_ID.fullmatch(response["X-Request-Id"])
    assert response["x-amzn-RequestId"] == response["X-Request-Id"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == str(len(content))
    for console_only in ("Content-Security-Policy", "X-Frame-Options", "Set-Cookie", "Vary"):
        assert console_only not in response


def test_v2_answer_keeps_request_id_and_security_headers(client: Client) -> None:
    response = client.get("/v2/email/identities")

    assert (response.status_code, response["Content-Type"]) == (403, "application/json")
    assert_api_headers(response, response.content)


def test_signed_v2_call_on_a_live_server(raw: Callable[..., RawResponse]) -> None:
    response = raw("GET", "/v2/email/account")

    assert response.status == 200
    assert_api_headers(response.headers, response.body)


def test_v1_query_call_keeps_request_id_and_security_headers(client: Client) -> None:
    response = client.post("/", {"Action": "GetSendQuota"})

    assert (response.status_code, response["Content-Type"]) == (403, "text/xml")
    assert b"<Code>MissingAuthenticationToken</Code>" in response.content
    assert_api_headers(response, response.content)


def test_unknown_v2_operation_is_json_past_the_console(client: Client) -> None:
    response = client.get("/v2/email/no-such-thing/")

    assert (response.status_code, response.json()["message"][:30]) == (
        404,
        "No SES v2 operation matches GE",
    )
    assert response["x-amzn-ErrorType"] == "UnknownOperationException"
    assert_api_headers(response, response.content)


def test_api_request_for_a_host_not_allowed_is_refused(client: Client) -> None:
    response = client.get("/v2/email/identities", HTTP_HOST="evil.example")

    assert response.status_code == 400


def test_api_request_over_http_is_redirected_when_https_is_required(
    client: Client, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/v2/email/account")

    assert (response.status_code, response["Location"]) == (
        301,
        "https://testserver/v2/email/account",
    )


def test_api_answer_over_https_carries_hsts(client: Client, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 3600

    response = client.get("/v2/email/account", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=3600"


def test_console_home_still_runs_the_console_middleware(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["X-Frame-Options"] == "DENY"
    assert REQUEST_ID.fullmatch(response["X-Request-Id"])
