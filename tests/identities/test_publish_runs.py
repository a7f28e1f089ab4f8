"""Issue 14 §2: "Publish DNS records" never blocks a web worker. The request queues a run; the
worker publishes within an overall deadline; an account's runs are rate-limited; the console
shows progress (htmx polling, a Refresh link without JavaScript) and the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from accounts.models import Account
from identities import tasks
from identities.models import DnsPublishRun, DnsServer, Identity
from tests.identities.dns_helpers import QueuedTasks
from tests.identities.test_dns_views import SECRET, url
from tests.support.listener import RecordingListener

T0 = "2026-12-07 10:00:00+00:00"


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("example.net", mail_from_domain="mail.example.net")


def loopback_server(account: Account, zone: str, port: int, settings: Settings) -> DnsServer:
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.DNS_PUBLISH_ALLOWED_PORTS = [*settings.DNS_PUBLISH_ALLOWED_PORTS, port]
    row = DnsServer(account=account, zone=zone, server="127.0.0.1", port=port, key_name="k")
    row.set_secret(SECRET)
    row.save()
    return row


def run_url(run: DnsPublishRun) -> str:
    identity = run.identity
    return reverse(
        "identities:publish_run",
        kwargs={"region": identity.region_id, "name": identity.name, "pk": run.pk},
    )


def test_publish_request_only_queues_the_run(
    owner_client: Client,
    account: Account,
    domain: Identity,
    settings: Settings,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    with RecordingListener("silent") as listener:
        loopback_server(account, "example.net", listener.port, settings)
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(url("publish_records", domain))
        # The web request opened no connection: the listener would hold it for 5 s.
        assert listener.connections == 0
    run = DnsPublishRun.objects.get()
    assert (run.status, run.actor, run.account) == ("QUEUED", "owner", account)
    assert response.url == run_url(run)
    assert queued_tasks() == [("identities.tasks.run_dns_publish", {"run_id": run.pk})]
    page = owner_client.get(run_url(run)).content.decode()
    assert "Waiting for a worker" in page
    assert f'<a href="{run_url(run)}">Refresh</a>' in page  # the no-JavaScript fallback
    assert 'hx-trigger="every 2s"' in page


def test_publish_run_stops_at_the_deadline(
    account: Account, domain: Identity, settings: Settings
) -> None:
    """Two zones on two silent servers: the first uses up the deadline, the second is never
    contacted, and the run says why."""
    settings.DNS_PUBLISH_TIMEOUT = 5.0
    settings.DNS_PUBLISH_DEADLINE = 0.4
    with RecordingListener("silent") as first, RecordingListener("silent") as second:
        loopback_server(account, "example.net", first.port, settings)
        loopback_server(account, "mail.example.net", second.port, settings)
        run = DnsPublishRun.objects.create(identity=domain, account=account, actor="owner")
        tasks.run_dns_publish.run(run_id=run.pk)
        assert (first.connections, second.connections) == (1, 0)
    run.refresh_from_db()
    assert run.status == "DONE"
    assert [text for _, text in run.tagged_notes()] == [
        f"Could not publish to 127.0.0.1:{first.port}: no DNS server accepted the update there. "
        "Check the server's address and port, and that it accepts TCP from sesconsole.",
        "Publishing stopped: it took longer than allowed. Try again in a moment.",
    ]


def test_publish_with_htmx_polls_until_done(
    owner_client: Client, domain: Identity, queued_tasks: QueuedTasks
) -> None:
    response = owner_client.post(url("publish_records", domain), HTTP_HX_REQUEST="true")
    run = DnsPublishRun.objects.get()
    fragment = response.content.decode()
    assert fragment.strip().startswith('<div id="publish-run"')
    assert f'hx-get="{run_url(run)}" hx-trigger="every 2s"' in fragment

    tasks.run_dns_publish.run(run_id=run.pk)
    done = owner_client.get(run_url(run), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in done  # settled: polling stops
    assert "No DNS server is registered for a zone containing example.net." in done


def test_publish_twice_reuses_the_run_in_flight(
    owner_client: Client,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("publish_records", domain))
        owner_client.post(url("publish_records", domain))
    run = DnsPublishRun.objects.get()
    assert queued_tasks() == [("identities.tasks.run_dns_publish", {"run_id": run.pk})]


def test_publish_task_redelivered_publishes_once(account: Account, domain: Identity) -> None:
    run = DnsPublishRun.objects.create(identity=domain, account=account, actor="owner")
    tasks.run_dns_publish.run(run_id=run.pk)
    tasks.run_dns_publish.run(run_id=run.pk)
    tasks.run_dns_publish.run(run_id=999_999)
    assert domain.events.filter(kind="dns_publish").count() == 1


def test_publish_runs_are_rate_limited_per_account(
    owner_client: Client,
    teammate_client: Client,
    make_domain: Callable[..., Identity],
    settings: Settings,
    time_machine: Any,
) -> None:
    time_machine.move_to(T0, tick=False)
    settings.DNS_PUBLISH_RUNS_PER_HOUR = 2
    first, second = make_domain("one.example"), make_domain("two.example")
    for identity in (first, second):
        owner_client.post(url("publish_records", identity))
    time_machine.move_to("2026-12-07 10:30:00+00:00", tick=False)
    # Another member of the same account, another identity: the same budget.
    response = teammate_client.post(url("publish_records", first))
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your account started 2 DNS publishing runs in the last hour, the most allowed. Try "
        "again after 11:00 UTC."
    ]
    assert response.url == url("detail", first)
    assert DnsPublishRun.objects.count() == 2
    time_machine.move_to("2026-12-07 11:00:01+00:00", tick=False)
    teammate_client.post(url("publish_records", first))
    assert DnsPublishRun.objects.count() == 3


def test_publish_run_page_is_the_accounts_own(
    owner_client: Client, outsider_client: Client, account: Account, domain: Identity
) -> None:
    run = DnsPublishRun.objects.create(identity=domain, account=account, actor="owner")
    tasks.run_dns_publish.run(run_id=run.pk)
    assert owner_client.get(run_url(run)).status_code == 200
    assert outsider_client.get(run_url(run)).status_code == 404
    assert owner_client.post(run_url(run)).status_code == 405
