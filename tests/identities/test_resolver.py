"""identities.resolver against a real Knot server (and a scripted one for what Knot won't do)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator

import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest

from identities.resolver import (
    Answer,
    Outcome,
    Query,
    SOARecord,
    find_soa,
    resolve_all,
    rname_to_email,
)
from tests.support import dns_fixtures
from tests.support.knot import KnotServer

# The shared Knot fixtures (tests/conftest.py needs Django; these tests must run without it).
knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone

DKIM_NAME = "abc._domainkey.example.com"

Responder = Callable[[dns.message.Message], dns.message.Message]
StartServer = Callable[[Responder], int]


def resolve(server: KnotServer, *queries: Query, timeout: float = 2.0) -> list[Answer]:
    return asyncio.run(
        resolve_all(queries, nameservers=[server.host], port=server.port, timeout=timeout)
    )


def dkim_2048_value() -> str:
    # A 2048-bit RSA SubjectPublicKeyInfo is 294 bytes: 392 base64 characters.
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(secrets.token_bytes(294)).decode()


@pytest.fixture
def scripted_server() -> Iterator[StartServer]:
    """A UDP server on loopback that answers with whatever `respond(query)` builds.

    For responses Knot won't produce: mixed-case names (Knot lower-cases names in rdata) and
    SERVFAIL.
    """
    sockets: list[socket.socket] = []

    def start(respond: Responder) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)

        def serve() -> None:
            while True:
                try:
                    wire, peer = sock.recvfrom(4096)
                except OSError:
                    return
                sock.sendto(respond(dns.message.from_wire(wire)).to_wire(), peer)

        threading.Thread(target=serve, daemon=True).start()
        return sock.getsockname()[1]

    yield start
    for sock in sockets:
        sock.close()


def test_resolve_cname_found(dns_zone: KnotServer) -> None:
    dns_zone.add(DKIM_NAME, "CNAME", "abc.dkim.amazonses.com")

    [answer] = resolve(dns_zone, Query(DKIM_NAME, "CNAME"))

    assert answer == Answer(Query(DKIM_NAME, "CNAME"), Outcome.FOUND, ("abc.dkim.amazonses.com",))


def test_knot_lower_cases_names_in_rdata(dns_zone: KnotServer) -> None:
    # A Knot quirk the other tests rely on: case in CNAME/MX targets does not survive.
    dns_zone.add(DKIM_NAME, "CNAME", "ABC.Dkim.AmazonSES.com")

    [answer] = resolve(dns_zone, Query(DKIM_NAME, "CNAME"))

    assert answer.values == ("abc.dkim.amazonses.com",)


def test_resolve_cname_keeps_case_as_served(scripted_server: StartServer) -> None:
    def respond(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.answer.append(
            dns.rrset.from_text(
                query.question[0].name, 300, "IN", "CNAME", "ABC.Dkim.AmazonSES.com."
            )
        )
        return response

    port = scripted_server(respond)

    [answer] = asyncio.run(
        resolve_all([Query(DKIM_NAME, "CNAME")], nameservers=["127.0.0.1"], port=port)
    )

    assert answer.values == ("ABC.Dkim.AmazonSES.com",)


def test_resolve_servfail_is_error(scripted_server: StartServer) -> None:
    def respond(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response

    port = scripted_server(respond)

    [answer] = asyncio.run(
        resolve_all([Query(DKIM_NAME, "TXT")], nameservers=["127.0.0.1"], port=port)
    )

    assert answer == Answer(
        Query(DKIM_NAME, "TXT"), Outcome.ERROR, (), detail="The name server answered SERVFAIL."
    )


def test_resolve_nxdomain(dns_zone: KnotServer) -> None:
    [answer] = resolve(dns_zone, Query("nothing-here.example.com", "TXT"))

    assert answer.outcome == Outcome.NXDOMAIN
    assert answer.values == ()


def test_negative_answers_carry_the_zone_soa(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.net", "TXT", "v=spf1 include:amazonses.com ~all")
    missing, other_type, in_root, found = resolve(
        dns_zone,
        Query("abc._domainkey.example.net", "CNAME"),
        Query("mail.example.net", "MX"),
        Query("nothing-here.example.com", "TXT"),
        Query("mail.example.net", "TXT"),
    )

    def zone(answer: Answer) -> tuple[str, str, str] | None:
        soa = answer.soa
        return (soa.zone, soa.primary_name_server, soa.admin_email) if soa else None

    assert [(a.outcome, zone(a)) for a in (missing, other_type, in_root, found)] == [
        (Outcome.NXDOMAIN, ("example.net.", "ns.test", "hostmaster@example.net")),
        (Outcome.NO_ANSWER, ("example.net.", "ns.test", "hostmaster@example.net")),
        (Outcome.NXDOMAIN, (".", "ns.test", "hostmaster@test")),
        (Outcome.FOUND, None),
    ]


def test_resolve_no_answer_when_name_has_another_type(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "TXT", "v=spf1 include:amazonses.com ~all")

    [answer] = resolve(dns_zone, Query("mail.example.com", "MX"))

    assert answer.outcome == Outcome.NO_ANSWER
    assert answer.cname == ""


def test_resolve_txt_at_cname_does_not_follow_the_alias(dns_zone: KnotServer) -> None:
    dns_zone.add("_dmarc.example.com", "CNAME", "dmarc.provider.example.net")
    dns_zone.add("dmarc.provider.example.net", "TXT", "v=DMARC1; p=reject")

    [answer] = resolve(dns_zone, Query("_dmarc.example.com", "TXT"))

    assert answer.outcome == Outcome.NO_ANSWER
    assert answer.values == ()
    assert answer.cname == "dmarc.provider.example.net"
    assert answer.soa is None  # the target's zone is not the zone of the name we asked about


def test_resolve_txt_at_cname_to_missing_target_is_no_answer(dns_zone: KnotServer) -> None:
    # Knot follows the alias inside its zone and answers NXDOMAIN for the *target*; the name
    # we asked about exists (it is the CNAME).
    dns_zone.add(DKIM_NAME, "CNAME", "abc.dkim.amazonses.com")

    [answer] = resolve(dns_zone, Query(DKIM_NAME, "TXT"))

    assert answer.outcome == Outcome.NO_ANSWER
    assert answer.cname == "abc.dkim.amazonses.com"
    assert answer.soa is None


def test_resolve_multi_string_txt_joined(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "TXT", ("v=spf1 ", "include:amazonses.com ~all"))

    [answer] = resolve(dns_zone, Query("mail.example.com", "TXT"))

    assert answer.values == ("v=spf1 include:amazonses.com ~all",)
    assert answer.strings == (("v=spf1 ", "include:amazonses.com ~all"),)


def test_resolve_2048_bit_dkim_txt_round_trips(dns_zone: KnotServer) -> None:
    value = dkim_2048_value()
    dns_zone.add("sel._domainkey.example.com", "TXT", value)

    [answer] = resolve(dns_zone, Query("sel._domainkey.example.com", "TXT"))

    assert len(value) == 410
    assert answer.values == (value,)
    assert answer.strings == ((value[:255], value[255:]),)


def test_resolve_several_txt_records_one_value_each(dns_zone: KnotServer) -> None:
    dns_zone.add(DKIM_NAME, "TXT", "p=second", "p=first")

    [answer] = resolve(dns_zone, Query(DKIM_NAME, "TXT"))

    assert answer.values == ("p=first", "p=second")
    assert answer.strings == (("p=first",), ("p=second",))


def test_resolve_mx_value_format(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com")

    [answer] = resolve(dns_zone, Query("mail.example.com", "MX"))

    assert answer.values == ("10 feedback-smtp.us-east-1.amazonses.com",)


def test_resolve_error_when_server_stopped_and_found_after_restart() -> None:
    with KnotServer() as server:
        server.add("example.com", "TXT", "up")
        server.stop()

        started = time.monotonic()
        [down] = resolve(server, Query("example.com", "TXT"), timeout=0.5)
        elapsed = time.monotonic() - started
        server.start()
        [up] = resolve(server, Query("example.com", "TXT"))

    assert down.outcome == Outcome.ERROR
    assert down.detail == "No answer within 0.5 s."
    assert elapsed < 1.5
    assert up.values == ("up",)  # the zone survives a restart (Knot's journal)


def test_resolve_invalid_name_is_error_without_network() -> None:
    [answer] = asyncio.run(
        resolve_all([Query("a" * 64 + ".example.com", "TXT")], nameservers=["127.0.0.1"])
    )

    assert answer.outcome == Outcome.ERROR
    assert answer.detail.startswith("Not a valid query:")


def test_resolve_300_queries_at_concurrency_100_keep_order(dns_zone: KnotServer) -> None:
    names = [f"t{i}._domainkey.example.com" for i in range(300)]
    dns_zone.add_many([(name, "TXT", f"p=key{i}") for i, name in enumerate(names)])
    queries = [Query(name, "TXT") for name in names]

    answers = asyncio.run(
        resolve_all(queries, nameservers=[dns_zone.host], port=dns_zone.port, concurrency=100)
    )

    assert [a.query for a in answers] == queries
    assert [a.values for a in answers] == [(f"p=key{i}",) for i in range(300)]


def test_find_soa_from_deep_name(dns_zone: KnotServer) -> None:
    soa = asyncio.run(
        find_soa(
            "x.abc._domainkey.mail.example.net", nameservers=[dns_zone.host], port=dns_zone.port
        )
    )

    assert soa == SOARecord(
        zone="example.net.",
        primary_name_server="ns.test",
        admin_email="hostmaster@example.net",
        serial_number=soa.serial_number if soa else 0,
    )
    assert soa.serial_number >= 1


def test_find_soa_at_apex_and_in_root(dns_zone: KnotServer) -> None:
    def zone_of(name: str) -> str | None:
        soa = asyncio.run(find_soa(name, nameservers=[dns_zone.host], port=dns_zone.port))
        return soa.zone if soa else None

    assert zone_of("example.net") == "example.net."
    assert zone_of("abc._domainkey.example.com") == "."


def test_resolve_soa_value_format(dns_zone: KnotServer) -> None:
    [answer] = resolve(dns_zone, Query(".", "SOA"))

    mname, rname, serial = answer.values[0].split()
    assert (mname, rname) == ("ns.test", "hostmaster.test")
    assert int(serial) >= 1


@pytest.mark.parametrize(
    ("rname", "email"),
    [
        ("hostmaster.example.com.", "hostmaster@example.com"),
        ("john\\.doe.example.com.", "john.doe@example.com"),
        ("awsdns-hostmaster.amazon.com.", "awsdns-hostmaster@amazon.com"),
    ],
)
def test_rname_to_email(rname: str, email: str) -> None:
    assert rname_to_email(dns.name.from_text(rname)) == email
