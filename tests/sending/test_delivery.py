"""Delivery: the relay gets the message DKIM-signed (dkimpy verifies it against the records in a
real Knot server), simulator recipients are never relayed, relay outages are retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dkim
import dns.message
import dns.query
import dns.rdatatype
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identities import records, signing_zone
from identities.models import Identity
from sending import delivery
from sending.models import SentMessage, Signature, Status, sending_lease
from sending.operations import send
from tests.support import dns_fixtures
from tests.support.knot import KnotServer
from tests.support.smtp_server import Collector, SmtpSink

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone


def publish(zone: KnotServer, identity: Identity) -> None:
    """What a deployment publishes: the domain's CNAMEs and the signing zone's key TXTs."""
    for record in records.dkim_records(identity):
        zone.add(record.name, record.type, record.value)
    for key in signing_zone.identity_records(identity):
        zone.add(key.name, key.rdtype, key.value)


def knot_dnsfunc(zone: KnotServer) -> Callable[..., bytes | None]:
    """dkimpy's DNS hook, answered by the Knot server (following the CNAME it returns)."""

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        query = dns.message.make_query(name.decode(), dns.rdatatype.TXT)
        answer = dns.query.udp(query, zone.host, port=zone.port, timeout=timeout)
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(rrset[0].strings)
        return None

    return dnsfunc


@pytest.mark.django_db
def test_relayed_message_is_dkim_signed_and_verifies_against_knot(
    dns_zone: KnotServer,
    dkim_domain: Identity,
    production: None,
    relay: SmtpSink,
    outgoing: Callable[..., Any],
) -> None:
    publish(dns_zone, dkim_domain)
    message = send(outgoing(to=["someone@elsewhere.test"]))
    assert delivery.deliver(message.pk) == Status.DELIVERED
    [envelope] = relay.handler.envelopes
    assert envelope.mail_from == f"{message.message_id}@amazonses.com"
    signature = relay.messages[0]["DKIM-Signature"]
    assert "d=example.com" in signature
    assert f"s={dkim_domain.dkim_tokens[0]}" in signature
    assert dkim.verify(envelope.content, dnsfunc=knot_dnsfunc(dns_zone))
    # The bytes the relay got are the stored ones: a retry would send them again unchanged.
    assert envelope.content == SentMessage.objects.get(pk=message.pk).raw_as_sent


@pytest.mark.django_db
def test_signature_does_not_verify_against_another_domains_records(
    dns_zone: KnotServer,
    dkim_domain: Identity,
    production: None,
    relay: SmtpSink,
    outgoing: Callable[..., Any],
) -> None:
    # Nothing published: the selector has no key, so the signature cannot verify.
    message = send(outgoing(to=["someone@elsewhere.test"]))
    delivery.deliver(message.pk)
    assert not dkim.verify(relay.handler.envelopes[0].content, dnsfunc=knot_dnsfunc(dns_zone))


@pytest.mark.django_db
def test_unsigned_when_dkim_signing_disabled(
    dkim_domain: Identity, production: None, relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    dkim_domain.set_dkim_signing(False)
    message = send(outgoing(to=["someone@elsewhere.test"]))
    delivery.deliver(message.pk)
    assert relay.messages[0]["DKIM-Signature"] is None
    assert SentMessage.objects.get(pk=message.pk).dkim_domain == ""


@pytest.mark.django_db
def test_simulator_recipients_are_recorded_never_relayed(
    verified_domain: Callable[..., Identity], relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    verified_domain("example.com")
    message = send(
        outgoing(to=["bounce@simulator.amazonses.com"], cc=["complaint+x@simulator.amazonses.com"])
    )
    assert delivery.deliver(message.pk) == Status.SIMULATED
    stored = SentMessage.objects.get(pk=message.pk)
    assert stored.simulator_outcomes == {
        "bounce@simulator.amazonses.com": "bounce",
        "complaint+x@simulator.amazonses.com": "complaint",
    }
    assert relay.handler.envelopes == []


@pytest.fixture
def accepted(
    verified_domain: Callable[..., Identity], production: None, outgoing: Callable[..., Any]
) -> SentMessage:
    """A message from example.com to an outside address, accepted, not delivered yet."""
    verified_domain("example.com")
    return send(outgoing(to=["someone@elsewhere.test"]))


@pytest.mark.django_db
def test_embedded_mode_keeps_the_message(accepted: SentMessage) -> None:
    assert delivery.deliver(accepted.pk) == Status.KEPT


@pytest.mark.django_db
def test_relay_down_then_up_delivers_later_with_same_message_id(
    accepted: SentMessage, relay: SmtpSink
) -> None:
    message = accepted
    relay.stop()
    with pytest.raises(delivery.TransientFailure):
        delivery.deliver(message.pk)
    stored = SentMessage.objects.get(pk=message.pk)
    assert stored.status == Status.QUEUED
    assert "refused the connection" in stored.last_error
    relay.start()
    assert delivery.deliver(message.pk) == Status.DELIVERED
    assert relay.messages[0]["Message-ID"] == f"<{message.message_id}@email.amazonses.com>"
    assert SentMessage.objects.get(pk=message.pk).attempts == 2


@pytest.mark.django_db
def test_retry_sends_the_signature_the_first_attempt_stored(
    dkim_domain: Identity, production: None, relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    message = send(outgoing(to=["someone@elsewhere.test"]))
    relay.stop()
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        with pytest.raises(delivery.TransientFailure):
            delivery.deliver(message.pk)
        first = SentMessage.objects.get(pk=message.pk)
        assert first.dkim_domain == "example.com"
        # dkimpy's t= tag is the signing time: signing again later would give other bytes.
        clock.shift(60)
        relay.start()
        assert delivery.deliver(message.pk) == Status.DELIVERED
    [envelope] = relay.handler.envelopes
    assert envelope.content == bytes(first.dkim_signature) + bytes(first.mime)
    assert bytes(SentMessage.objects.get(pk=message.pk).dkim_signature) == bytes(
        first.dkim_signature
    )


@pytest.mark.django_db
def test_claim_keeps_a_signature_stored_by_another_attempt(
    verified_domain: Callable[..., Identity], production: None, outgoing: Callable[..., Any]
) -> None:
    verified_domain("example.com")
    message = send(outgoing(to=["someone@elsewhere.test"]))
    SentMessage.objects.filter(pk=message.pk).update(
        dkim_signature=b"DKIM-Signature: first\r\n", dkim_domain="example.com", dkim_selector="s1"
    )
    read, _ = SentMessage.for_delivery(message.pk, timezone.now()) or (None, "")
    assert read is not None
    later = Signature(b"DKIM-Signature: second\r\n", "example.com", "s2")
    assert read.claim(timezone.now(), later)
    assert (bytes(read.dkim_signature), read.dkim_selector) == (b"DKIM-Signature: first\r\n", "s1")
    stored = SentMessage.objects.get(pk=message.pk)
    assert (bytes(stored.dkim_signature), stored.dkim_selector, stored.attempts) == (
        b"DKIM-Signature: first\r\n", "s1", 1,
    )  # fmt: skip
    # Claimed (and not by a dead worker): nobody else may read it for delivery now.
    assert SentMessage.for_delivery(message.pk, timezone.now()) is None
    assert not read.claim(timezone.now())


@pytest.mark.django_db
def test_signed_delivery_takes_four_statements(
    dkim_domain: Identity, production: None, relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    """Pins a delivery's round trips (BENCHMARKS.md, "Eighth session: delivery"): read the
    message, its signing identity with the key, the claim with the signature, the outcome.
    Before that session: six (the message, the claim, the identity, the key, the signature,
    the outcome), each compiled by the ORM."""
    warm_up = send(outgoing(to=["someone@elsewhere.test"]))
    assert delivery.deliver(warm_up.pk) == Status.DELIVERED  # the relay connection is opened
    message = send(outgoing(to=["someone@elsewhere.test"]))
    with CaptureQueriesContext(connection) as queries:
        assert delivery.deliver(message.pk) == Status.DELIVERED
    assert len(queries) == 4
    assert SentMessage.objects.get(pk=message.pk).dkim_domain == "example.com"


class PeerCollector(Collector):
    """Also notes the client's address of each message: one address, one connection."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def counting_relay(relay: SmtpSink) -> SmtpSink:
    relay.stop()
    relay.handler = PeerCollector()
    relay.start()
    return relay


@pytest.mark.django_db
def test_deliveries_share_one_relay_connection(
    accepted: SentMessage, counting_relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    second = send(outgoing(to=["other@elsewhere.test"]))
    assert delivery.deliver(accepted.pk) == Status.DELIVERED
    assert delivery.deliver(second.pk) == Status.DELIVERED
    peers = counting_relay.handler.peers  # type: ignore[attr-defined]
    assert len(peers) == 2
    assert peers[0] == peers[1]


@pytest.mark.django_db
def test_idle_relay_connection_is_replaced(
    accepted: SentMessage,
    counting_relay: SmtpSink,
    outgoing: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery.RelayConnection, "IDLE_SECONDS", 0.0)
    second = send(outgoing(to=["other@elsewhere.test"]))
    assert delivery.deliver(accepted.pk) == Status.DELIVERED
    assert delivery.deliver(second.pk) == Status.DELIVERED
    peers = counting_relay.handler.peers  # type: ignore[attr-defined]
    assert len(peers) == 2
    assert peers[0] != peers[1]


@pytest.mark.django_db
def test_relay_restarted_between_deliveries_delivers_at_once(
    accepted: SentMessage, relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    """The kept connection died with the relay: a new one is opened, it is not an outage."""
    second = send(outgoing(to=["other@elsewhere.test"]))
    assert delivery.deliver(accepted.pk) == Status.DELIVERED
    relay.stop()
    relay.start()
    assert delivery.deliver(second.pk) == Status.DELIVERED
    stored = SentMessage.objects.get(pk=second.pk)
    assert (stored.attempts, stored.last_error) == (1, "")
    assert len(relay.handler.envelopes) == 2


@pytest.mark.django_db
def test_relay_down_after_a_delivery_is_transient(
    accepted: SentMessage, relay: SmtpSink, outgoing: Callable[..., Any]
) -> None:
    second = send(outgoing(to=["other@elsewhere.test"]))
    assert delivery.deliver(accepted.pk) == Status.DELIVERED
    relay.stop()
    with pytest.raises(delivery.TransientFailure):
        delivery.deliver(second.pk)
    assert SentMessage.objects.get(pk=second.pk).status == Status.QUEUED


@pytest.mark.django_db
def test_permanent_refusal_is_recorded(accepted: SentMessage, relay: SmtpSink) -> None:
    relay.handler.answer = "554 5.7.1 Rejected by policy"
    assert delivery.deliver(accepted.pk) == Status.FAILED
    stored = SentMessage.objects.get(pk=accepted.pk)
    assert stored.last_error == "The mail server answered 554 5.7.1 Rejected by policy."


@pytest.mark.django_db
def test_sweep_requeues_lost_and_stalled_deliveries(
    verified_domain: Callable[..., Identity],
    production: None,
    outgoing: Callable[..., Any],
    queued_tasks: Any,
) -> None:
    verified_domain("example.com")
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        # Inside the test's transaction on_commit never runs: both tasks are "lost".
        lost = send(outgoing())
        claimed = send(outgoing())
        clock.shift(1)
        assert SentMessage.objects.get(pk=claimed.pk).claim(timezone.now())
        clock.shift(60)
        assert delivery.requeue_stalled() == 0  # too early for both
        clock.shift(120)
        assert delivery.requeue_stalled() == 1  # the lost one; the other is leased to a worker
        clock.shift(sending_lease().total_seconds())
        assert delivery.requeue_stalled() == 2  # the worker died: its lease ran out
    queued = [(name, kwargs["sent_message_id"]) for name, kwargs in queued_tasks()]
    task = "sending.tasks.deliver_message"
    assert sorted(queued) == sorted([(task, lost.pk), (task, lost.pk), (task, claimed.pk)])
