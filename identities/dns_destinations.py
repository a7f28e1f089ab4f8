"""Where a tenant's DNS server may be: the one rule behind the DNS servers form and the connect.

A tenant registers a server and sesconsole later opens a TCP connection to it, from the web
host's network. Without this rule a tenant could make the server talk to 127.0.0.1, the LAN or
the cloud metadata address (a port scanner, or a way to push bytes into a local SMTP server).
So an account's server must resolve to public unicast addresses only, on port 53; an operator
who self-hosts DNS on a private network lists it in DNS_PUBLISH_ALLOWED_NETWORKS, and other
ports in DNS_PUBLISH_ALLOWED_PORTS. The operator's own servers (admin, no account) are exempt.

The check runs twice: when the form is saved (a clear error at once) and again right before
each connection, on the addresses the connection then uses (a host name that resolved to a
public address when it was saved may point to 127.0.0.1 today: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(Exception):
    """The server may not be contacted; the message says why and what to do, for the tenant."""


@dataclass(frozen=True)
class Destinations:
    """The addresses and ports an account's DNS server may use."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_ports: frozenset[int] = frozenset({53})

    @classmethod
    def from_settings(cls) -> Destinations:
        return cls(
            allowed_networks=tuple(
                ipaddress.ip_network(net, strict=False)
                for net in settings.DNS_PUBLISH_ALLOWED_NETWORKS
            ),
            allowed_ports=frozenset({53, *settings.DNS_PUBLISH_ALLOWED_PORTS}),
        )

    def check_port(self, port: int) -> None:
        if port not in self.allowed_ports:
            allowed = ", ".join(str(p) for p in sorted(self.allowed_ports))
            raise DestinationRefused(
                f"Port {port} is not allowed: DNS servers are reached on port {allowed}. "
                "Use port 53, or ask the operator to allow another port."
            )

    def check_address(self, address: IPAddress) -> None:
        if any(address in network for network in self.allowed_networks):
            return
        problem = _not_public(address)
        if problem:
            raise DestinationRefused(
                f"{address} is {problem}: sesconsole only publishes to DNS servers on public "
                "addresses. Enter your primary's public address, or ask the operator to allow "
                "your network."
            )

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for (host, port), every one of them allowed.

        1. The port first (no lookup for a refused port).
        2. An IP literal is taken as is; a host name is resolved once, here.
        3. Every address must pass: one private answer among public ones refuses the host
           (a resolver may hand out any of them).
        The caller connects to the returned addresses, never to the host name again.
        """
        self.check_port(port)
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = _lookup(host, port)
        for address in addresses:
            self.check_address(address)
        return [str(address) for address in addresses]


def _lookup(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefused(
            f"{host} does not resolve to an address. Enter the server's IP address or a host "
            "name with an A or AAAA record."
        ) from exc
    found: list[IPAddress] = []
    for info in infos:
        # Drop an IPv6 scope ("fe80::1%eth0"); the address itself is what is checked.
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def _not_public(address: IPAddress) -> str:
    """What makes `address` unfit for a tenant's server ("" when it is public unicast)."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one reaches that IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None:
            return _not_public(embedded)
        if address.teredo is not None:
            return "a Teredo tunnel address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), "")


NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
