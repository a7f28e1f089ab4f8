"""Console pages of sending: Send test email, Sent messages, a message, its HTML and .eml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import Identity
from sending.models import SentMessage
from sending.operations import Simple, send

HTMX = {"HTTP_HX_REQUEST": "true"}


def send_test_url(identity: Identity) -> str:
    return reverse(
        "sending:send_test_email", kwargs={"region": identity.region_id, "name": identity.name}
    )


def message_url(message: SentMessage, view: str = "message") -> str:
    return reverse(
        f"sending:{view}", kwargs={"region": message.region_id, "message_id": message.message_id}
    )


@pytest.fixture
def domain(verified_domain: Callable[..., Identity]) -> Identity:
    return verified_domain("example.com")


def test_send_test_email_to_the_simulator_shows_the_message(
    owner_client: Client, domain: Identity
) -> None:
    page = owner_client.get(send_test_url(domain))
    assert page.status_code == 200
    assert b"@example.com" in page.content
    response = owner_client.post(
        send_test_url(domain),
        {
            "email_format": "FORMATTED",
            "local_part": "hello",
            "scenario": "bounce",
            "subject": "Test",
            "body": "Hi",
        },
    )
    message = SentMessage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == message_url(message)
    assert (message.from_address, message.recipients) == (
        "hello@example.com",
        ["bounce@simulator.amazonses.com"],
    )
    assert message.actor == "owner"
    shown = owner_client.get(message_url(message))
    assert b"bounce@simulator.amazonses.com: bounce" in shown.content


def test_send_test_email_shows_ses_refusal(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(
        send_test_url(domain),
        {
            "email_format": "FORMATTED",
            "local_part": "hello",
            "scenario": "custom",
            "custom_recipient": "someone@elsewhere.test",
            "subject": "Test",
            "body": "Hi",
        },
    )
    assert response.status_code == 200
    assert (
        b"Email address is not verified. The following identities failed the check in region "
        b"US-EAST-1: someone@elsewhere.test" in response.content
    )
    assert SentMessage.objects.count() == 0


def test_send_test_email_raw_format(owner_client: Client, domain: Identity) -> None:
    raw = "From: hello@example.com\nSubject: Raw test\nX-Note: kept\n\nRaw body\n"
    response = owner_client.post(
        send_test_url(domain),
        {"email_format": "RAW", "local_part": "hello", "scenario": "success", "body": raw},
    )
    message = SentMessage.objects.get()
    assert response.status_code == 302
    assert (message.subject, message.raw_content) == ("Raw test", True)
    assert message.recipients == ["success@simulator.amazonses.com"]
    assert b"X-Note: kept\r\n" in bytes(message.mime)


def test_send_test_email_formatted_needs_a_subject(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(
        send_test_url(domain),
        {"email_format": "FORMATTED", "local_part": "a", "scenario": "success", "body": "x"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"subject": ["Enter a subject."]}


def test_send_test_email_of_another_account_is_404(
    outsider_client: Client, domain: Identity
) -> None:
    assert outsider_client.get(send_test_url(domain)).status_code == 404
    assert outsider_client.post(send_test_url(domain), {}).status_code == 404


def test_send_test_email_needs_login(client: Client, domain: Identity) -> None:
    assert client.get(send_test_url(domain)).status_code == 302


@pytest.fixture
def make_sent(account: Account, region: Region, production: None) -> Callable[..., SentMessage]:
    from sending.operations import Outgoing

    def make(html: str | None = None, **kwargs: Any) -> SentMessage:
        return send(
            Outgoing(
                account=account,
                region=region.code,
                actor="tests",
                from_address="sender@example.com",
                to=["to@x.test"],
                simple=Simple(subject="Hello", text="Text body", html=html),
                **kwargs,
            )
        )

    return make


def test_message_page_isolated_per_account(
    owner_client: Client,
    outsider_client: Client,
    domain: Identity,
    make_sent: Callable[..., SentMessage],
) -> None:
    message = make_sent()
    for view in ("message", "message_eml"):
        assert owner_client.get(message_url(message, view)).status_code == 200
        assert outsider_client.get(message_url(message, view)).status_code == 404
    listed = outsider_client.get(reverse("sending:list", kwargs={"region": "us-east-1"}))
    assert message.message_id.encode() not in listed.content


def test_eml_download_is_the_message_as_sent(
    owner_client: Client, domain: Identity, make_sent: Callable[..., SentMessage]
) -> None:
    message = make_sent()
    response = owner_client.get(message_url(message, "message_eml"))
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="{message.message_id}.eml"'
    assert response.content == message.raw_as_sent


def test_sent_html_never_runs_in_the_console(
    owner_client: Client, domain: Identity, make_sent: Callable[..., SentMessage]
) -> None:
    message = make_sent(html='<p>Hi</p><script>alert(1)</script><img src="https://t.test/x">')
    page = owner_client.get(message_url(message))
    assert b"<script>alert(1)</script>" not in page.content
    assert b'sandbox="allow-popups"' in page.content
    body = owner_client.get(message_url(message, "message_html"))
    policy = body["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # default-src 'none' forbids every script
    assert policy.endswith("sandbox allow-popups")


def test_sent_list_filters_and_keyset_pages(
    owner_client: Client,
    domain: Identity,
    make_sent: Callable[..., SentMessage],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time_machine
    from django.utils import timezone

    from sesconsole import listing

    monkeypatch.setattr(listing, "DEFAULT_PAGE_SIZE", 2)
    sent = []
    with time_machine.travel("2026-12-07 09:00:00+00:00", tick=False) as clock:
        for _ in range(5):
            clock.shift(10)
            sent.append(make_sent())
        assert timezone.now().hour == 9
    url = reverse("sending:list", kwargs={"region": "us-east-1"})
    first = owner_client.get(url)
    ids = [m.message_id.encode() for m in sent]
    assert [i in first.content for i in ids] == [False, False, False, True, True]
    older = first.context["older_query"]
    second = owner_client.get(f"{url}?{older}")
    assert [i in second.content for i in ids] == [False, True, True, False, False]
    filtered = owner_client.get(url, {"status": "DELIVERED"})
    assert filtered.context["rows"] == []
    partial = owner_client.get(url, {"sender": "Sender@Example.com"}, **HTMX)
    assert b"<html" not in partial.content
    assert ids[4] in partial.content


def test_sent_list_query_count_does_not_grow(
    owner_client: Client, domain: Identity, make_sent: Callable[..., SentMessage]
) -> None:
    import time_machine

    url = reverse("sending:list", kwargs={"region": "us-east-1"})
    owner_client.get(url)  # the first visit of a region also stores it in the session
    counts = []
    with time_machine.travel("2026-12-07 09:00:00+00:00", tick=False) as clock:
        for batch in (1, 2):
            for _ in range(batch):
                clock.shift(10)
                make_sent()
            with CaptureQueriesContext(connection) as queries:
                assert owner_client.get(url).status_code == 200
            counts.append(len(queries))
    assert counts[0] == counts[1]


def test_dashboard_shows_quota_and_usage(
    owner_client: Client, domain: Identity, make_sent: Callable[..., SentMessage]
) -> None:
    make_sent()
    page = owner_client.get(reverse("account_dashboard", kwargs={"region": "us-east-1"}))
    assert b"50000 emails per 24-hour period" in page.content
    assert b"<dt>Sent in the last 24 hours</dt><dd>1 (0 % of the quota; 49999 left)</dd>" in (
        page.content
    )
