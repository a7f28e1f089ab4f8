"""identities.dns_publish against a real Knot server accepting TSIG-signed RFC 2136 updates."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import time
from collections.abc import Iterator

import pytest

from identities import dns_publish
from identities.dns_publish import (
    PublishError,
    PublishResult,
    Record,
    UpdateTarget,
    choose_target,
    publish,
    txt_tag,
)
from identities.resolver import Answer, Outcome, Query, resolve_all
from tests.support import dns_fixtures
from tests.support.knot import KnotServer

# The shared Knot fixtures (tests/conftest.py needs Django; these tests must run without it).
knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone

SES_RECORDS = [
    Record("abc._domainkey.example.com", "CNAME", "abc.dkim.amazonses.com"),
    Record("mail.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com"),
    Record("mail.example.com", "TXT", '"v=spf1 include:amazonses.com ~all"'),
]


def target_for(server: KnotServer, *, zone: str = ".", secret: str | None = None) -> UpdateTarget:
    return UpdateTarget(
        zone=zone,
        server=server.host,
        port=server.port,
        key_name=server.tsig_name,
        key_algorithm=server.tsig_algorithm,
        key_secret=secret or server.tsig_secret,
    )


def lookup(server: KnotServer, name: str, rdtype: str) -> Answer:
    [answer] = asyncio.run(
        resolve_all([Query(name, rdtype)], nameservers=[server.host], port=server.port)
    )
    return answer


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_publish_adds_missing_records_and_they_resolve(dns_zone: KnotServer) -> None:
    result = publish(target_for(dns_zone), SES_RECORDS)

    assert result == PublishResult(published=SES_RECORDS, already_present=[], conflicts=[])
    assert lookup(dns_zone, "abc._domainkey.example.com", "CNAME").values == (
        "abc.dkim.amazonses.com",
    )
    assert lookup(dns_zone, "mail.example.com", "MX").values == (
        "10 feedback-smtp.us-east-1.amazonses.com",
    )
    assert lookup(dns_zone, "mail.example.com", "TXT").values == (
        "v=spf1 include:amazonses.com ~all",
    )


def test_publish_again_reports_already_present(dns_zone: KnotServer) -> None:
    publish(target_for(dns_zone), SES_RECORDS)

    result = publish(target_for(dns_zone), SES_RECORDS)

    assert result == PublishResult(published=[], already_present=SES_RECORDS, conflicts=[])


def test_publish_into_a_child_zone(dns_zone: KnotServer) -> None:
    records = [
        Record("sel1._domainkey.example.net", "CNAME", "sel1.dkim.amazonses.com"),
        Record("mail.example.net", "MX", "10 feedback-smtp.eu-west-1.amazonses.com"),
    ]

    result = publish(target_for(dns_zone, zone="example.net"), records)

    assert result.published == records
    assert lookup(dns_zone, "sel1._domainkey.example.net", "CNAME").values == (
        "sel1.dkim.amazonses.com",
    )
    assert lookup(dns_zone, "mail.example.net", "MX").values == (
        "10 feedback-smtp.eu-west-1.amazonses.com",
    )


def test_publish_different_cname_is_conflict_and_untouched(dns_zone: KnotServer) -> None:
    dns_zone.add("abc._domainkey.example.com", "CNAME", "abc.dkim.other-provider.example")

    result = publish(target_for(dns_zone), SES_RECORDS[:1])

    assert result.conflicts == [(SES_RECORDS[0], ("abc.dkim.other-provider.example",))]
    assert result.published == []
    assert lookup(dns_zone, "abc._domainkey.example.com", "CNAME").values == (
        "abc.dkim.other-provider.example",
    )


def test_publish_cname_next_to_other_records_is_conflict(dns_zone: KnotServer) -> None:
    dns_zone.add("abc._domainkey.example.com", "TXT", "p=selfhosted")

    result = publish(target_for(dns_zone), SES_RECORDS[:1])

    assert result.conflicts == [(SES_RECORDS[0], ("TXT p=selfhosted",))]
    assert lookup(dns_zone, "abc._domainkey.example.com", "CNAME").outcome == Outcome.NO_ANSWER


def test_publish_txt_at_a_cname_is_conflict(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "CNAME", "elsewhere.example.net")

    result = publish(target_for(dns_zone), SES_RECORDS[1:])

    assert result.conflicts == [
        (SES_RECORDS[1], ("CNAME elsewhere.example.net",)),
        (SES_RECORDS[2], ("CNAME elsewhere.example.net",)),
    ]


def test_publish_second_mx_is_conflict(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "MX", "10 inbound.example.com")

    result = publish(target_for(dns_zone), SES_RECORDS[1:2])

    assert result.conflicts == [(SES_RECORDS[1], ("10 inbound.example.com",))]
    assert lookup(dns_zone, "mail.example.com", "MX").values == ("10 inbound.example.com",)


def test_publish_second_spf_is_conflict(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "TXT", "v=spf1 mx -all")

    result = publish(target_for(dns_zone), SES_RECORDS[2:])

    assert result.conflicts == [(SES_RECORDS[2], ("v=spf1 mx -all",))]


def test_publish_txt_of_another_kind_is_added_alongside(dns_zone: KnotServer) -> None:
    dns_zone.add("mail.example.com", "TXT", "google-site-verification=abc")

    result = publish(target_for(dns_zone), SES_RECORDS[2:])

    assert result.published == SES_RECORDS[2:]
    assert lookup(dns_zone, "mail.example.com", "TXT").values == (
        "google-site-verification=abc",
        "v=spf1 include:amazonses.com ~all",
    )


def test_publish_dkim_txt_with_other_key_is_conflict(dns_zone: KnotServer) -> None:
    dns_zone.add("sel._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=OLDKEY")
    record = Record("sel._domainkey.example.com", "TXT", "p=NEWKEY")

    result = publish(target_for(dns_zone), [record])

    assert result.conflicts == [(record, ("v=DKIM1; k=rsa; p=OLDKEY",))]


def test_publish_long_txt_is_split_into_255_byte_strings(dns_zone: KnotServer) -> None:
    value = "p=" + base64.b64encode(secrets.token_bytes(294)).decode()
    publish(target_for(dns_zone), [Record("sel._domainkey.example.com", "TXT", value)])

    answer = lookup(dns_zone, "sel._domainkey.example.com", "TXT")

    assert answer.values == (value,)
    assert answer.strings == ((value[:255], value[255:]),)


def test_publish_guards_against_a_record_added_meanwhile(
    dns_zone: KnotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone publishes another CNAME between our read and our update: the prerequisite
    # "name is not in use" fails, we read again and report a conflict instead of overwriting.
    send_batch = dns_publish._send_batch
    calls: list[int] = []

    def racing_send_batch(conn: dns_publish._Connection, batch: list[dns_publish._Group]) -> bool:
        if not calls:
            dns_zone.add("abc._domainkey.example.com", "CNAME", "racer.example.net")
        calls.append(1)
        return send_batch(conn, batch)

    monkeypatch.setattr(dns_publish, "_send_batch", racing_send_batch)

    result = publish(target_for(dns_zone), SES_RECORDS[:1])

    assert len(calls) == 1
    assert result == PublishResult(
        published=[], already_present=[], conflicts=[(SES_RECORDS[0], ("racer.example.net",))]
    )


def test_publish_many_records_in_batches(
    dns_zone: KnotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [Record(f"t{i}._domainkey.example.com", "TXT", f"p=key{i}") for i in range(120)]
    send_batch = dns_publish._send_batch
    sizes: list[int] = []

    def counting_send_batch(conn: dns_publish._Connection, batch: list[dns_publish._Group]) -> bool:
        sizes.append(sum(len(group.to_add) for group in batch))
        return send_batch(conn, batch)

    monkeypatch.setattr(dns_publish, "BATCH_SIZE", 50)
    monkeypatch.setattr(dns_publish, "_send_batch", counting_send_batch)

    result = publish(target_for(dns_zone), records)

    assert sizes == [50, 50, 20]
    assert result.published == records
    assert lookup(dns_zone, "t119._domainkey.example.com", "TXT").values == ("p=key119",)


def test_publish_wrong_tsig_secret_raises(dns_zone: KnotServer) -> None:
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()

    with pytest.raises(PublishError) as excinfo:
        publish(target_for(dns_zone, secret=wrong), SES_RECORDS)

    assert str(excinfo.value) == (
        f"The DNS server rejected the TSIG key {dns_zone.tsig_name} (BADSIG): "
        "check the key name, algorithm and secret."
    )
    assert lookup(dns_zone, "mail.example.com", "MX").outcome == Outcome.NXDOMAIN


def test_publish_zone_not_served_raises(dns_zone: KnotServer) -> None:
    with pytest.raises(PublishError) as excinfo:
        publish(target_for(dns_zone, zone="example.com"), SES_RECORDS)

    assert str(excinfo.value) == (
        "The server is not authoritative for zone example.com or does not allow updates "
        f"with this key (NOTAUTH from {dns_zone.host}:{dns_zone.port})."
    )


def test_publish_record_outside_zone_raises(dns_zone: KnotServer) -> None:
    with pytest.raises(PublishError) as excinfo:
        publish(target_for(dns_zone, zone="example.org"), SES_RECORDS)

    assert str(excinfo.value) == "abc._domainkey.example.com is not inside the zone example.org."


def test_publish_timeout_raises(silent_port: int) -> None:
    target = UpdateTarget(".", "127.0.0.1", silent_port, "k", "hmac-sha256", "AAAA")
    started = time.monotonic()

    with pytest.raises(PublishError) as excinfo:
        publish(target, SES_RECORDS, timeout=0.3)

    assert str(excinfo.value) == f"No answer from 127.0.0.1:{silent_port} within 0.3 s."
    assert time.monotonic() - started < 1.5


def test_choose_target_longest_zone_wins() -> None:
    targets = [
        UpdateTarget("com", "192.0.2.1", 53, "k", "hmac-sha256", "AAAA"),
        UpdateTarget("example.com", "192.0.2.2", 53, "k", "hmac-sha256", "AAAA"),
        UpdateTarget("mail.example.com", "192.0.2.3", 53, "k", "hmac-sha256", "AAAA"),
    ]

    assert choose_target("Example.COM", targets) == targets[1]
    assert choose_target("sub.example.com.", targets) == targets[1]
    assert choose_target("bounce.mail.example.com", targets) == targets[2]
    assert choose_target("foo-example.com", targets) == targets[0]


def test_choose_target_is_label_wise() -> None:
    targets = [UpdateTarget("example.com", "192.0.2.2", 53, "k", "hmac-sha256", "AAAA")]

    assert choose_target("foo-example.com", targets) is None
    assert choose_target("example.com.evil.net", targets) is None


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("v=spf1 include:amazonses.com ~all", "v=spf1"),
        ("v=DMARC1;p=quarantine;pct=25", "v=dmarc1"),
        ("v=DKIM1; k=rsa; p=MIIB", "dkim"),
        ("p=MIIB", "dkim"),
        ("k=rsa; p=MIIB", "dkim"),
        ("pmBGN/7MjnfhTKUZ06Enqq1PeGUWtC1xA5NxdP3QWEY=", None),
        ("google-site-verification=abc", None),
    ],
)
def test_txt_tag(text: str, tag: str | None) -> None:
    assert txt_tag(text) == tag
