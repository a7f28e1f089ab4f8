"""LocalStack's GET/DELETE /_aws/ses over a live server: shape, filters, per-account isolation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.request import Request, urlopen

import pytest

from accounts.models import Account
from identities.models import Identity
from tests.api.conftest import KeyPair, send_signed

RAW = b"From: sender@example.com\r\nTo: a@x.test\r\nSubject: Raw one\r\n\r\nRaw body.\r\n"


def unsigned(base_url: str, method: str = "GET", query: str = "") -> tuple[int, Any]:
    request = Request(f"{base_url}/_aws/ses{'?' + query if query else ''}", method=method)
    try:
        with urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except Exception as exc:  # HTTPError carries the status and body
        return exc.code, json.loads(exc.read())  # type: ignore[attr-defined]


@pytest.fixture
def sent(
    ses: Any, verified_domain: Callable[..., Identity], production: None, settings: Any
) -> list[str]:
    settings.SES_MESSAGES_ENDPOINT = True
    verified_domain("example.com")
    first = ses.send_email(
        FromEmailAddress="Sender <sender@example.com>",
        Destination={"ToAddresses": ["to@x.test"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Hello"},
                "Body": {"Text": {"Data": "Text"}, "Html": {"Data": "<p>Html</p>"}},
            }
        },
    )["MessageId"]
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        second = ses.send_email(Content={"Raw": {"Data": RAW}})["MessageId"]
    return [first, second]


def test_get_lists_messages_in_localstack_shape(live_server: Any, sent: list[str]) -> None:
    status, body = unsigned(live_server.url)
    assert status == 200
    first, second = body["messages"]
    assert first["Id"] == sent[0]
    assert (first["Region"], first["Source"], first["Subject"]) == (
        "us-east-1",
        "Sender <sender@example.com>",
        "Hello",
    )
    assert first["Destination"] == {"ToAddresses": ["to@x.test"]}
    assert first["Body"]["text_part"].strip() == "Text"
    assert first["Body"]["html_part"].strip() == "<p>Html</p>"
    assert second["Id"] == sent[1]
    assert "Subject: Raw one" in second["RawData"]
    assert unsigned(live_server.url, query=f"id={sent[1]}")[1]["messages"][0]["Id"] == sent[1]
    assert unsigned(live_server.url, query="email=nobody@x.test")[1] == {"messages": []}


def test_delete_one_then_all(live_server: Any, sent: list[str]) -> None:
    assert unsigned(live_server.url, "DELETE", f"id={sent[0]}")[0] == 204
    assert [m["Id"] for m in unsigned(live_server.url)[1]["messages"]] == [sent[1]]
    assert unsigned(live_server.url, "DELETE")[0] == 204
    assert unsigned(live_server.url)[1] == {"messages": []}


def test_several_accounts_need_a_signature_and_see_only_their_own(
    live_server: Any, sent: list[str], outsider_key: KeyPair, owner_key: KeyPair
) -> None:
    assert Account.objects.count() == 2
    status, body = unsigned(live_server.url)
    assert status == 403
    assert "sign the request with an access key" in body["message"]
    outsider = send_signed(live_server.url, outsider_key, "GET", "/_aws/ses")
    assert outsider.json() == {"messages": []}
    send_signed(live_server.url, outsider_key, "DELETE", "/_aws/ses")
    owner = send_signed(live_server.url, owner_key, "GET", "/_aws/ses")
    assert [m["Id"] for m in owner.json()["messages"]] == sent


def test_endpoint_off_answers_404(live_server: Any, db: None, settings: Any) -> None:
    settings.SES_MESSAGES_ENDPOINT = False
    status, body = unsigned(live_server.url)
    assert status == 404
    assert "SES_MESSAGES_ENDPOINT" in body["message"]
