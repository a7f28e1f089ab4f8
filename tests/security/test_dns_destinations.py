"""Issue 14 §1: a tenant's DNS server never makes sesconsole contact loopback or private
addresses, other ports than 53, or carry injected bytes; errors do not tell ports apart.

Each refusal is proven on a real listener on loopback that records whether it was contacted.
The operator settings (DNS_PUBLISH_ALLOWED_NETWORKS / _PORTS) are how the suite's own Knot on
127.0.0.1 is allowed (tests/identities/dns_helpers.knot_dns), never a bypass in the code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from accounts.models import Account
from identities import publishing
from identities.dns_destinations import DestinationRefused, Destinations
from identities.dns_publish import PublishError, Record, publish
from identities.models import DnsServer, Identity
from tests.identities.test_dns_views import knot_server_row
from tests.support import dns_fixtures
from tests.support.knot import KnotServer
from tests.support.listener import RecordingListener, closed_port

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone

SECRET = base64.b64encode(b"s" * 32).decode()
INJECTED_KEY = "z\r\nHELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<victim@x>\r\nDATA\r\n"
PUBLIC_ONLY = (
    "sesconsole only publishes to DNS servers on public addresses. Enter your primary's public "
    "address, or ask the operator to allow your network."
)
FORM = {
    "zone": "example.net",
    "server": "9.9.9.9",
    "port": "53",
    "key_name": "sesconsole-key",
    "key_algorithm": "hmac-sha256",
    "tsig_secret": SECRET,
}


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("example.net", mail_from_domain="mail.example.net")


def stored_server(account: Account | None, host: str, port: int, **fields: Any) -> DnsServer:
    """A row written directly, as one saved before these rules (or edited in the database)."""
    row = DnsServer(
        account=account,
        zone=fields.pop("zone", "example.net"),
        server=host,
        port=port,
        key_name=fields.pop("key_name", "k"),
    )
    row.set_secret(SECRET)
    row.save()
    return row


def publish_messages(identity: Identity) -> list[str]:
    return [text for _, text in publishing.publish_identity_records(identity)]


# --- the form -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("server", "problem"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.8.9.10", "127.8.9.10 is a loopback address"),
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("172.16.3.4", "172.16.3.4 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("224.0.0.251", "224.0.0.251 is a multicast address"),
        ("240.0.0.1", "240.0.0.1 is a private address"),
        ("192.0.2.53", "192.0.2.53 is a private address"),
        ("::1", "::1 is a loopback address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("fd00::53", "fd00::53 is a private address"),
        ("ff02::1", "ff02::1 is a multicast address"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1 is a loopback address"),
        ("64:ff9b::a00:1", "64:ff9b::a00:1 is a private address"),
        ("2002:7f00:1::1", "2002:7f00:1::1 is a loopback address"),
    ],
)
def test_dns_server_form_refuses_non_public_addresses(
    owner_client: Client, server: str, problem: str
) -> None:
    response = owner_client.post(
        reverse("identities:dns_server_create"), {**FORM, "server": server}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"server": [f"{problem}: {PUBLIC_ONLY}"]}
    assert DnsServer.objects.count() == 0


def test_dns_server_form_resolves_host_names_and_refuses_loopback(owner_client: Client) -> None:
    response = owner_client.post(
        reverse("identities:dns_server_create"), {**FORM, "server": "localhost"}
    )
    [error] = response.context["form"].errors["server"]
    assert error.endswith(f"is a loopback address: {PUBLIC_ONLY}")
    assert DnsServer.objects.count() == 0


def test_dns_server_form_refuses_other_ports_unless_the_operator_allows_them(
    owner_client: Client, settings: Settings
) -> None:
    response = owner_client.post(reverse("identities:dns_server_create"), {**FORM, "port": "25"})
    assert response.context["form"].errors == {
        "port": [
            "Port 25 is not allowed: DNS servers are reached on port 53. Use port 53, or ask the "
            "operator to allow another port."
        ]
    }
    settings.DNS_PUBLISH_ALLOWED_PORTS = [5353]
    response = owner_client.post(reverse("identities:dns_server_create"), {**FORM, "port": "5353"})
    assert response.status_code == 302
    assert DnsServer.objects.get().port == 5353


def test_dns_server_form_accepts_networks_the_operator_allows(
    owner_client: Client, settings: Settings
) -> None:
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    response = owner_client.post(
        reverse("identities:dns_server_create"), {**FORM, "server": "10.1.2.3"}
    )
    assert response.status_code == 302
    assert DnsServer.objects.get().server == "10.1.2.3"


@pytest.mark.parametrize("key_name", [INJECTED_KEY, "key name", "a..b", "-k-"])
def test_dns_server_form_refuses_key_names_that_are_not_dns_names(
    owner_client: Client, key_name: str
) -> None:
    response = owner_client.post(
        reverse("identities:dns_server_create"), {**FORM, "key_name": key_name}
    )
    [error] = response.context["form"].errors["key_name"]
    assert error.endswith(
        "is not a valid TSIG key name. Use labels of 1–63 letters, digits, hyphens and "
        "underscores separated by dots, at most 253 characters in all."
    )
    assert "\r" not in error
    assert DnsServer.objects.count() == 0


def test_admin_refuses_injected_key_name_and_zone(operator_client: Client) -> None:
    response = operator_client.post(
        reverse("admin:identities_dnsserver_add"),
        {
            "account": "",
            "zone": "a\r\nb",
            "server": "127.0.0.1",
            "port": 53,
            "key_name": INJECTED_KEY,
            "key_algorithm": "hmac-sha256",
            "tsig_secret": SECRET,
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert sorted(errors) == ["key_name", "zone"]
    assert DnsServer.objects.count() == 0


def test_destinations_accept_public_addresses_on_port_53() -> None:
    assert Destinations().resolve("9.9.9.9", 53) == ["9.9.9.9"]
    assert Destinations().resolve("2620:fe::fe", 53) == ["2620:fe::fe"]
    with pytest.raises(DestinationRefused):
        Destinations().resolve("9.9.9.9", 5353)


# --- at connect time: stored rows are checked again ------------------------------------------
def test_publish_never_contacts_a_loopback_server_saved_earlier(
    account: Account, domain: Identity, settings: Settings
) -> None:
    with RecordingListener() as listener:
        settings.DNS_PUBLISH_ALLOWED_PORTS = [listener.port]  # the port alone is not enough
        stored_server(account, "127.0.0.1", listener.port)
        messages = publish_messages(domain)
    assert listener.connections == 0
    assert messages == [
        f"Could not publish to 127.0.0.1: 127.0.0.1 is a loopback address: {PUBLIC_ONLY}"
    ]


def test_publish_resolves_host_names_again_at_connect_time(
    account: Account, domain: Identity, settings: Settings
) -> None:
    """A name that pointed to a public address when saved and to loopback now (rebinding)."""
    with RecordingListener() as listener:
        settings.DNS_PUBLISH_ALLOWED_PORTS = [listener.port]
        stored_server(account, "localhost", listener.port)
        [message] = publish_messages(domain)
    assert listener.connections == 0
    assert message.startswith("Could not publish to localhost: ")
    assert message.endswith(f"is a loopback address: {PUBLIC_ONLY}")


def test_publish_never_sends_an_injected_key_name(
    account: Account, domain: Identity, settings: Settings
) -> None:
    with RecordingListener() as listener:
        settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.DNS_PUBLISH_ALLOWED_PORTS = [listener.port]
        stored_server(account, "127.0.0.1", listener.port, key_name=INJECTED_KEY)
        [message] = publish_messages(domain)
    assert (listener.connections, listener.received) == (0, b"")
    assert message.startswith("Could not publish to 127.0.0.1: “z\\r\\nHELO a")
    assert message.endswith(
        "is not a valid TSIG key name. Use labels of 1–63 letters, digits, "
        "hyphens and underscores separated by dots, at most 253 characters "
        "in all."
    )


def test_tenant_errors_do_not_tell_closed_silent_and_non_dns_ports_apart(
    account: Account, domain: Identity, settings: Settings
) -> None:
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.DNS_PUBLISH_TIMEOUT = 0.3
    with RecordingListener("silent") as silent, RecordingListener("close") as closing:
        ports = {"silent": silent.port, "close": closing.port, "closed": closed_port()}
        settings.DNS_PUBLISH_ALLOWED_PORTS = list(ports.values())
        row = stored_server(account, "127.0.0.1", 53)
        seen = {}
        for kind, port in ports.items():
            DnsServer.objects.filter(pk=row.pk).update(port=port)
            [message] = publish_messages(domain)
            seen[kind] = message.replace(str(port), "PORT")
        assert (silent.connections, closing.connections) == (1, 2)  # "close" retried once
    assert set(seen.values()) == {
        "Could not publish to 127.0.0.1:PORT: no DNS server accepted the update there. Check "
        "the server's address and port, and that it accepts TCP from sesconsole."
    }


# --- the operator's servers keep their freedom ------------------------------------------------
def test_operator_server_on_loopback_is_used_and_explains_failures(
    db: None, dns_zone: KnotServer
) -> None:
    row = knot_server_row(None, dns_zone, zone=".")
    result = publish(row.update_target(), [Record("k1.dkim.example.net", "TXT", "p=AAAA")])
    assert [r.name for r in result.published] == ["k1.dkim.example.net"]

    port = closed_port()
    row.port = port
    with pytest.raises(PublishError) as excinfo:
        publish(row.update_target(), [Record("k1.dkim.example.net", "TXT", "p=AAAA")])
    assert str(excinfo.value).startswith(f"Could not connect to 127.0.0.1:{port}: ")
