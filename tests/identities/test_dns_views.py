"""Console DNS pages: Check now, Publish DNS records (RFC 2136 into a real Knot), DNS servers,
the identity page's record statuses and history, and the operator's signing-zone export."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Account
from identities import dns_check, records, tasks
from identities.models import DkimKey, DnsPublishRun, DnsServer, Identity, IdentityEvent
from identities.provisioning import EasyDkim
from identities.resolver import Query, resolve_all
from tests.identities import dns_helpers
from tests.identities.dns_helpers import QueuedTasks, expected, run_check, zone_value
from tests.support import dns_fixtures
from tests.support.knot import KnotServer
from tests.support.listener import closed_port

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
knot_dns = dns_helpers.knot_dns

SECRET = base64.b64encode(b"s" * 32).decode()


def url(view: str, identity: Identity) -> str:
    return reverse(
        f"identities:{view}", kwargs={"region": identity.region_id, "name": identity.name}
    )


def flashes(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def publish_events(identity: Identity) -> list[tuple[str, str]]:
    return [(e.message, e.actor) for e in identity.events.filter(kind="dns_publish").order_by("id")]


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("example.net", mail_from_domain="mail.example.net")


def knot_server_row(
    account: Account | None, server: KnotServer, zone: str = "example.net"
) -> DnsServer:
    row = DnsServer(
        account=account,
        zone=zone,
        server=server.host,
        port=server.port,
        key_name=server.tsig_name,
        key_algorithm=server.tsig_algorithm,
    )
    row.set_secret(server.tsig_secret)
    row.save()
    return row


# --- Check now ----------------------------------------------------------------------------------
def test_check_now_queues_a_check_after_commit(
    owner_client: Client,
    domain: Identity,
    queued_tasks: QueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Identity.objects.filter(pk=domain.pk).update(next_check_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("check_now", domain))
    assert response.status_code == 302
    assert response["Location"] == url("detail", domain)
    assert queued_tasks() == [("identities.tasks.check_identity_now", {"identity_id": domain.pk})]
    assert flashes(response) == ["A DNS check of example.net is on its way."]
    domain.refresh_from_db()
    assert domain.next_check_at is not None


def test_check_now_restarts_failed_identity(teammate_client: Client, domain: Identity) -> None:
    Identity.objects.filter(pk=domain.pk).update(
        dkim_status="FAILED", verification_status="FAILED", next_check_at=None
    )
    teammate_client.post(url("check_now", domain))
    domain.refresh_from_db()
    assert (domain.dkim_status, domain.verification_status) == ("PENDING", "PENDING")
    events = domain.events.filter(kind="status").order_by("message")
    assert [(e.message, e.actor) for e in events] == [
        ("DKIM status changed from Failed to Pending.", "teammate"),
        ("Identity status changed from Failed to Pending.", "teammate"),
    ]


def test_check_now_htmx_refreshes_page(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(url("check_now", domain), headers={"HX-Request": "true"})
    assert (response.status_code, response["HX-Refresh"]) == (200, "true")


def test_check_now_email_identity_is_not_checked(
    owner_client: Client,
    make_email: Callable[..., Identity],
    queued_tasks: QueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    email = make_email("a@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("check_now", email))
    assert queued_tasks() == []
    assert flashes(response) == [
        "Email address identities are verified with the link in the verification email, not "
        "through DNS; only a custom MAIL FROM domain is checked there."
    ]


def test_check_now_email_identity_with_mail_from_checks_it(
    owner_client: Client,
    make_email: Callable[..., Identity],
    queued_tasks: QueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    email = make_email("a@example.net")
    email.set_mail_from("bounce.example.net", "USE_DEFAULT_VALUE")
    Identity.objects.filter(pk=email.pk).update(mail_from_status="FAILED", next_check_at=None)

    page = owner_client.get(url("detail", email)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("check_now", email))

    assert ">Check now</button>" in page
    assert queued_tasks() == [("identities.tasks.check_identity_now", {"identity_id": email.pk})]
    assert flashes(response) == ["A DNS check of a@example.net is on its way."]
    email.refresh_from_db()
    assert (email.mail_from_status, email.dkim_status) == ("PENDING", "NOT_STARTED")
    assert dns_check.claim_one(email.pk)


@pytest.mark.parametrize("view", ["check_now", "publish_records"])
def test_identity_actions_access(
    view: str,
    client: Client,
    outsider_client: Client,
    owner_client: Client,
    domain: Identity,
) -> None:
    assert outsider_client.post(url(view, domain)).status_code == 404
    assert client.post(url(view, domain)).status_code == 302  # anonymous → login
    assert client.post(url(view, domain))["Location"].startswith(reverse("login"))
    assert owner_client.get(url(view, domain)).status_code == 405


# --- Publish DNS records ------------------------------------------------------------------------
def publish_in_console(client: Client, identity: Identity) -> list[str]:
    """Press "Publish DNS records": the request only queues a run and redirects to its page;
    run the task as the worker would, then read the outcome from the run's page."""
    response = client.post(url("publish_records", identity))
    run = DnsPublishRun.objects.filter(identity=identity).first()
    assert run is not None
    assert response.status_code == 302
    assert response.url == reverse(
        "identities:publish_run",
        kwargs={"region": identity.region_id, "name": identity.name, "pk": run.pk},
    )
    tasks.run_dns_publish.run(run_id=run.pk)
    page = client.get(response.url)
    run.refresh_from_db()
    notes = [text for _, text in run.tagged_notes()]
    for text in notes:
        assert escape(text) in page.content.decode()
    return notes


def test_publish_without_server_says_what_to_do(owner_client: Client, domain: Identity) -> None:
    assert publish_in_console(owner_client, domain) == [
        "No DNS server is registered for a zone containing example.net. Add one under DNS servers."
    ]


def test_publish_records_end_to_end(
    knot_dns: KnotServer, owner_client: Client, account: Account, domain: Identity
) -> None:
    knot_server_row(account, knot_dns)
    assert publish_in_console(owner_client, domain) == ["Published 5 DNS records in example.net."]
    checks = run_check(domain)
    assert {rc.status for rc in checks.values()} == {"SUCCESS"}
    assert domain.verification_status == "SUCCESS"
    again = publish_in_console(owner_client, domain)
    assert again == ["5 DNS records were already in example.net."]
    assert publish_events(domain) == [
        ("Publish DNS records: Published 5 DNS records in example.net.", "owner"),
        ("Publish DNS records: 5 DNS records were already in example.net.", "owner"),
    ]


def test_publish_reports_conflict_and_leaves_it(
    knot_dns: KnotServer, owner_client: Client, account: Account, domain: Identity
) -> None:
    knot_server_row(account, knot_dns)
    cname = expected(domain, records.Purpose.DKIM)
    knot_dns.add(cname.name, "CNAME", "someone-else.example.org")
    assert publish_in_console(owner_client, domain) == [
        "Published 4 DNS records in example.net.",
        f"Not published: {cname.name} already has someone-else.example.org. It was left "
        f"unchanged; replace it with CNAME {cname.value} yourself if it is not needed.",
    ]
    checks = run_check(domain)
    assert checks[(cname.name, "CNAME")].found == ["someone-else.example.org"]


CLOSED_PORT_MESSAGE = (
    "Could not publish to 127.0.0.1:{port}: no DNS server accepted the update there. Check the "
    "server's address and port, and that it accepts TCP from sesconsole."
)


def closed_server_row(account: Account, settings: Any) -> DnsServer:
    """An account's server on a loopback port nothing listens on, allowed by the operator."""
    port = closed_port()
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.DNS_PUBLISH_ALLOWED_PORTS = [port]
    row = DnsServer(
        account=account, zone="example.net", server="127.0.0.1", port=port, key_name="k"
    )
    row.set_secret(SECRET)
    row.save()
    return row


def test_publish_error_is_shown(
    owner_client: Client, account: Account, domain: Identity, settings: Any
) -> None:
    row = closed_server_row(account, settings)
    assert publish_in_console(owner_client, domain) == [CLOSED_PORT_MESSAGE.format(port=row.port)]


# --- the wizard's option: the publish_identity_records task -------------------------------------
# The task publishes for the create wizard's "Publish DNS records" option.
WIZARD = "system (create wizard)"


def test_publish_identity_records_task_end_to_end(
    knot_dns: KnotServer,
    owner_client: Client,
    account: Account,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    knot_server_row(account, knot_dns)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.publish_identity_records.run(identity_id=domain.pk)

    wanted = [r for r in records.expected_records(domain) if not r.recommended]
    answers = asyncio.run(
        resolve_all(
            [Query(r.name, r.type) for r in wanted], nameservers=[knot_dns.host], port=knot_dns.port
        )
    )
    assert [a.values for a in answers] == [(zone_value(r),) for r in wanted]
    # The records are in place: the task queued the first DNS check, which finds them.
    assert queued_tasks() == [("identities.tasks.check_identity_now", {"identity_id": domain.pk})]
    assert tasks.check_identity_now.run(identity_id=domain.pk) == 1
    domain.refresh_from_db()
    assert domain.verification_status == "SUCCESS"
    # Run again (a redelivered message): nothing is sent twice, the history says so.
    tasks.publish_identity_records.run(identity_id=domain.pk)
    assert publish_events(domain) == [
        ("Publish DNS records: Published 5 DNS records in example.net.", WIZARD),
        ("Publish DNS records: 5 DNS records were already in example.net.", WIZARD),
    ]
    page = owner_client.get(url("detail", domain)).content.decode()
    assert "Publish DNS records: Published 5 DNS records in example.net." in page


def test_publish_identity_records_task_records_conflicts(
    knot_dns: KnotServer, account: Account, domain: Identity
) -> None:
    knot_server_row(account, knot_dns)
    cname = expected(domain, records.Purpose.DKIM)
    knot_dns.add(cname.name, "CNAME", "someone-else.example.org")

    tasks.publish_identity_records.run(identity_id=domain.pk)

    assert publish_events(domain) == [
        (
            "Publish DNS records: Published 4 DNS records in example.net. Not published: "
            f"{cname.name} already has someone-else.example.org. It was left unchanged; "
            f"replace it with CNAME {cname.value} yourself if it is not needed.",
            WIZARD,
        )
    ]


def test_publish_identity_records_task_records_errors(
    account: Account,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
    settings: Any,
) -> None:
    row = closed_server_row(account, settings)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.publish_identity_records.run(identity_id=domain.pk)

    [(message, _)] = publish_events(domain)
    assert message == "Publish DNS records: " + CLOSED_PORT_MESSAGE.format(port=row.port)
    # Nothing was published, but the check still runs: the user may have added them by hand.
    assert queued_tasks() == [("identities.tasks.check_identity_now", {"identity_id": domain.pk})]


def test_publish_identity_records_task_without_server_or_identity(
    domain: Identity, make_email: Callable[..., Identity]
) -> None:
    tasks.publish_identity_records.run(identity_id=domain.pk)
    assert publish_events(domain) == [
        (
            "Publish DNS records: No DNS server is registered for a zone containing "
            "example.net. Add one under DNS servers.",
            WIZARD,
        )
    ]
    email = make_email("a@example.net")
    assert tasks.publish_identity_records.run(identity_id=email.pk) is None
    assert tasks.publish_identity_records.run(identity_id=999_999) is None
    assert IdentityEvent.objects.filter(kind="dns_publish").count() == 1


# --- DNS servers pages ----------------------------------------------------------------------------
SERVER_FORM = {
    "zone": "Example.NET.",
    "server": "9.9.9.9",
    "port": "53",
    "key_name": "sesconsole-key",
    "key_algorithm": "hmac-sha256",
    "tsig_secret": SECRET,
}


def test_dns_server_create_encrypts_secret_and_never_shows_it(
    owner_client: Client, account: Account
) -> None:
    response = owner_client.post(reverse("identities:dns_server_create"), SERVER_FORM)
    assert response.status_code == 302
    server = DnsServer.objects.get()
    assert (server.account, server.zone, server.secret()) == (account, "example.net", SECRET)
    assert SECRET not in server.key_secret_encrypted
    page = owner_client.get(reverse("identities:dns_servers"))
    assert page.status_code == 200
    assert "example.net" in page.content.decode()
    assert SECRET not in page.content.decode()


def test_dns_server_create_errors(owner_client: Client, account: Account) -> None:
    owner_client.post(reverse("identities:dns_server_create"), SERVER_FORM)
    bad = {**SERVER_FORM, "tsig_secret": "not base64!"}
    response = owner_client.post(reverse("identities:dns_server_create"), bad)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "zone": [
            "A DNS server is already registered for example.net. Delete it first to replace it."
        ],
        "tsig_secret": ["Enter the TSIG secret in base64, exactly as in the server's key file."],
    }
    assert "not base64!" not in response.content.decode()


def test_dns_servers_are_per_account(
    owner_client: Client, teammate_client: Client, outsider_client: Client, account: Account
) -> None:
    owner_client.post(reverse("identities:dns_server_create"), SERVER_FORM)
    server = DnsServer.objects.get()
    assert "example.net" in teammate_client.get(reverse("identities:dns_servers")).content.decode()
    assert (
        "example.net" not in outsider_client.get(reverse("identities:dns_servers")).content.decode()
    )
    delete_url = reverse("identities:dns_server_delete", kwargs={"pk": server.pk})
    assert outsider_client.post(delete_url, {"confirm": "example.net"}).status_code == 404
    assert outsider_client.get(delete_url).status_code == 404
    assert owner_client.put(delete_url).status_code == 405
    page = owner_client.get(delete_url)
    assert page.status_code == 200
    assert page.context["form"].fields["confirm"].label == "To confirm deletion, enter example.net"
    refused = teammate_client.post(delete_url, {"confirm": "example.com"})
    assert refused.context["form"].errors["confirm"] == [
        "The name you entered doesn't match. Enter example.net exactly as shown to delete it."
    ]
    assert DnsServer.objects.count() == 1
    done = teammate_client.post(delete_url, {"confirm": "example.net"}, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == reverse("identities:dns_servers")
    assert DnsServer.objects.count() == 0


def test_dns_servers_filter_and_page_size_are_kept_in_the_url(
    owner_client: Client, account: Account
) -> None:
    for i in range(11):
        server = DnsServer(account=account, zone=f"z{i:02}.example", server="192.0.2.1")
        server.key_name = "k"
        server.set_secret("c2VjcmV0")
        server.save()
    url = reverse("identities:dns_servers")

    page = owner_client.get(url, {"q": "Z1", "size": "10"})
    sized = owner_client.get(url, {"page": "2"})
    partial = owner_client.get(url, {"q": "nothing"}, HTTP_HX_REQUEST="true").content.decode()

    assert [s.zone for s in page.context["rows"]] == ["z10.example"]
    assert [s.zone for s in sized.context["rows"]] == ["z10.example"]
    assert partial.lstrip().startswith('<div id="server-results" class="results">')
    assert "No DNS server matches the filter." in partial


def test_dns_servers_anonymous_and_methods(client: Client, owner_client: Client) -> None:
    response = client.get(reverse("identities:dns_servers"))
    assert (response.status_code, response["Location"].startswith(reverse("login"))) == (302, True)
    assert owner_client.post(reverse("identities:dns_servers")).status_code == 405
    assert owner_client.put(reverse("identities:dns_server_create")).status_code == 405


# --- the identity page -------------------------------------------------------------------------
def test_detail_shows_record_status_hint_and_history(
    knot_dns: KnotServer, owner_client: Client, domain: Identity
) -> None:
    run_check(domain)
    page = owner_client.get(url("detail", domain)).content.decode()
    cname = expected(domain, records.Purpose.DKIM)
    assert f"No record exists at {cname.name}: add the CNAME record" in page
    assert "Check now" in page
    assert "Publish DNS records" in page
    assert "History" in page
    assert "Domain identity created." in page


def test_detail_wrong_spf_under_verified_mail_from_needs_attention(
    knot_dns: KnotServer, owner_client: Client, domain: Identity
) -> None:
    # SES moves MAIL FROM on the MX alone: the setup is verified, the SPF row is not "Verified".
    mx = expected(domain, records.Purpose.MAIL_FROM_MX)
    knot_dns.add(mx.name, "MX", mx.value)
    checks = run_check(domain)
    spf = checks[(mx.name, "TXT")]
    assert (domain.mail_from_status, spf.status, spf.needs_attention) == (
        "SUCCESS",
        "SUCCESS",
        True,
    )
    assert checks[(mx.name, "MX")].needs_attention is False
    page = owner_client.get(url("detail", domain)).content.decode()
    assert page.count("Needs attention") == 1
    assert f'<p class="record-hint">{spf.hint}</p>' in page


def test_detail_shows_auto_verify_and_skip_dns_in_history(
    owner_client: Client, domain: Identity
) -> None:
    domain.verify_without_dns("Marked verified without a DNS check.", actor="operator")
    page = owner_client.get(url("detail", domain)).content.decode()
    assert "Marked verified without a DNS check." in page


def test_email_identity_page_says_dkim_is_inherited(
    owner_client: Client,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> None:
    parent = make_domain("example.net")
    parent.verify_without_dns("test")
    email = make_email("news@mail.example.net")
    page = owner_client.get(url("detail", email)).content.decode()
    assert "DKIM is inherited from the verified domain example.net" in page


# --- signing zone export ------------------------------------------------------------------------
def test_signing_zone_export_is_staff_only_and_splits_values(
    operator_client: Client,
    owner_client: Client,
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.net", dkim=EasyDkim("RSA_2048_BIT"))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    export_url = reverse("identities:signing_zone_file")
    assert owner_client.get(export_url).status_code == 302  # not staff: to the admin login
    body = operator_client.get(export_url).content.decode()
    token = identity.dkim_tokens[0]
    key = DkimKey.objects.get(selector=token)
    line = next(
        line for line in body.splitlines() if line.startswith(f"{token}.dkim.amazonses.com.")
    )
    strings = line.split("\t")[-1]
    assert strings.startswith('"v=DKIM1; k=rsa; p=')
    assert all(len(s) <= 255 for s in strings.strip('"').split('" "'))
    assert "".join(strings.strip('"').split('" "')) == f"v=DKIM1; k=rsa; p={key.public_key}"
