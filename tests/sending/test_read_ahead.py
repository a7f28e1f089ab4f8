"""An SMTP session's kept reads (sending.read_ahead): a change made elsewhere reaches an open
session once the window has passed, a refusal is always decided on a fresh read, nothing of
another account is used, and the quota of an account with limits stays exact. The clock is
mocked; the database is the real one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessKey, Account, AccountRegion, Region
from identities.models import ConfigurationSet, Identity, MailFromStatus, VerificationStatus
from sending.errors import RefusalKind, SendRefused
from sending.models import SentMessage
from sending.operations import KeyCheck, Outgoing, send
from sending.quota import sent_last_24_hours
from sending.read_ahead import MAX_ADDRESSES, ReadAhead
from tests.support import wire

WINDOW = timedelta(seconds=1)
START = "2026-12-07 10:00:00+00:00"


@dataclass
class Session:
    """What one SMTP session hands the send operation: its key and its kept reads."""

    account: Account
    region: Region
    key: AccessKey
    reads: ReadAhead
    given: dict[str, Any] = field(default_factory=dict)

    def outgoing(self, make: Callable[..., Outgoing], **kwargs: Any) -> Outgoing:
        values = {
            "account": self.account,
            "region": self.region,
            "key_check": KeyCheck(self.key.access_key_id),
            "read_ahead": self.reads,
            "to": ["someone@elsewhere.test"],
            **self.given,
            **kwargs,
        }
        return make(**values)


def unlimited_production(account: Account, region: Region) -> AccountRegion:
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_send_rate, state.max_24_hour_send = -1, -1
    state.save(update_fields=["max_send_rate", "max_24_hour_send"])
    return state


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session(
    account: Account, region: Region, verified_domain: Callable[..., Identity], clock: Any
) -> Session:
    verified_domain("example.com")
    unlimited_production(account, region)
    key, _secret = AccessKey.issue(account, description="SMTP session")
    return Session(account, region, key, ReadAhead(account.pk, region.pk, WINDOW))


def _identity(account: Account) -> Identity:
    return Identity.objects.get(account=account, name="example.com")


def _set(account: Account, region: Region, name: str) -> ConfigurationSet:
    return ConfigurationSet.objects.create(account=account, region=region, name=name)


# Each change made elsewhere while a session is open: (what the session's messages name,
# set-up before the session's first message, the change, the refusal it brings).
Change = tuple[dict[str, Any], Callable[[Session], Any], Callable[[Session], Any], RefusalKind]
CHANGES: dict[str, Change] = {
    "key deactivated": (
        {},
        lambda s: None,
        lambda s: s.key.deactivate(),
        RefusalKind.KEY_NOT_ACTIVE,
    ),
    "sending paused": (
        {},
        lambda s: None,
        lambda s: AccountRegion.objects.filter(account=s.account).update(sending_enabled=False),
        RefusalKind.SENDING_PAUSED,
    ),
    "production access revoked": (
        {},
        lambda s: None,
        lambda s: s.account.region_settings(s.region).deny_production_access(),
        RefusalKind.MESSAGE_REJECTED,  # someone@elsewhere.test is not verified
    ),
    "identity unverified": (
        {},
        lambda s: None,
        lambda s: Identity.objects.filter(account=s.account).update(
            verification_status=VerificationStatus.FAILED
        ),
        RefusalKind.MESSAGE_REJECTED,
    ),
    "custom MAIL FROM failed": (
        {},
        lambda s: Identity.objects.filter(account=s.account).update(
            mail_from_domain="mail.example.com",
            mail_from_behavior="REJECT_MESSAGE",
            mail_from_status=MailFromStatus.SUCCESS,
        ),
        lambda s: Identity.objects.filter(account=s.account).update(
            mail_from_status=MailFromStatus.FAILED
        ),
        RefusalKind.MAIL_FROM_NOT_VERIFIED,
    ),
    "configuration set deleted": (
        {"configuration_set_name": "marketing"},
        lambda s: _set(s.account, s.region, "marketing"),
        lambda s: ConfigurationSet.objects.filter(name="marketing").delete(),
        RefusalKind.CONFIGURATION_SET_NOT_FOUND,
    ),
    "configuration set paused": (
        {"configuration_set_name": "marketing"},
        lambda s: _set(s.account, s.region, "marketing"),
        lambda s: ConfigurationSet.objects.filter(name="marketing").update(sending_enabled=False),
        RefusalKind.CONFIGURATION_SET_SENDING_PAUSED,
    ),
    "identity's default set deleted": (
        {},
        lambda s: (
            _set(s.account, s.region, "defaults"),
            Identity.objects.filter(account=s.account).update(configuration_set_name="defaults"),
        ),
        lambda s: ConfigurationSet.objects.filter(name="defaults").delete(),
        RefusalKind.INVALID_PARAMETER,
    ),
    "limits set on an unlimited account": (
        {},
        lambda s: None,
        lambda s: AccountRegion.objects.filter(account=s.account).update(max_24_hour_send=0),
        RefusalKind.DAILY_QUOTA_EXCEEDED,
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_reaches_an_open_session_once_the_window_has_passed(
    session: Session, outgoing: Callable[..., Outgoing], clock: Any, change: Change
) -> None:
    given, set_up, make_change, refusal = change
    session.given = given
    set_up(session)
    first = send(session.outgoing(outgoing))
    make_change(session)

    # Within the window the session still sends on what it read for the first message ...
    clock.shift(WINDOW * 0.9)
    assert send(session.outgoing(outgoing)).configuration_set_name == first.configuration_set_name
    # ... and once the window has passed since that read, the change counts.
    clock.shift(WINDOW * 0.1)
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == refusal
    assert SentMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limits", ["none", "set"])
def test_an_identity_deleted_counts_at_once(
    session: Session, outgoing: Callable[..., Outgoing], limits: str
) -> None:
    """The message's row would name the deleted identity: its foreign key fails at the
    write's commit, and the send decides once more on a fresh read (with limits, on the same
    connection right after the failed COMMIT of the quota's transaction)."""
    if limits == "set":
        AccountRegion.objects.filter(account=session.account).update(
            max_send_rate=100, max_24_hour_send=1000
        )
    send(session.outgoing(outgoing))
    _identity(session.account).delete()
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == RefusalKind.MESSAGE_REJECTED
    assert SentMessage.objects.count() == 1
    # The failed commit took the quota's counter with it: only the first message counts.
    assert sent_last_24_hours(session.account, session.region, timezone.now()) == 1


@pytest.mark.django_db
def test_a_refusal_is_decided_on_a_fresh_read(
    session: Session, outgoing: Callable[..., Outgoing], verified_email: Callable[..., Identity]
) -> None:
    """A change that lets mail through counts at once: the clock does not move here."""
    send(session.outgoing(outgoing))
    from_elsewhere = {"from_address": "app@example.org"}
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing, **from_elsewhere))
    assert refused.value.kind == RefusalKind.MESSAGE_REJECTED
    assert session.reads.identities["app@example.org"] is None  # kept from the refusal
    verified_email("app@example.org")
    assert send(session.outgoing(outgoing, **from_elsewhere)).from_address == "app@example.org"


@pytest.mark.django_db
def test_a_window_of_zero_reads_for_every_message(
    session: Session, outgoing: Callable[..., Outgoing]
) -> None:
    session.reads = ReadAhead(session.account.pk, session.region.pk, timedelta(0))
    send(session.outgoing(outgoing))
    session.key.deactivate()
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == RefusalKind.KEY_NOT_ACTIVE


@pytest.mark.django_db
def test_a_clock_that_goes_back_reads_again(
    session: Session, outgoing: Callable[..., Outgoing], clock: Any
) -> None:
    send(session.outgoing(outgoing))
    session.key.deactivate()
    clock.shift(-timedelta(milliseconds=1))
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == RefusalKind.KEY_NOT_ACTIVE


@pytest.mark.django_db
def test_nothing_of_another_account_is_used(
    session: Session,
    outgoing: Callable[..., Outgoing],
    other_account: Account,
    make_domain: Callable[..., Identity],
) -> None:
    """The other account's example.com is not verified: the first account's kept reads (its
    verified example.com) must not let the other account's message through, and the other
    account's session keeps nothing the first one could use."""
    send(session.outgoing(outgoing))
    make_domain("example.com", acct=other_account)
    unlimited_production(other_account, session.region)
    other_key, _secret = AccessKey.issue(other_account, description="other")
    # A ReadAhead handed with another account's message (a wiring fault) is ignored.
    with pytest.raises(SendRefused) as refused:
        send(
            session.outgoing(
                outgoing, account=other_account, key_check=KeyCheck(other_key.access_key_id)
            )
        )
    assert refused.value.kind == RefusalKind.MESSAGE_REJECTED
    kept = session.reads.identities.values()
    assert all(i is None or i.account_id == session.account.pk for i in kept)

    other = Session(
        other_account,
        session.region,
        other_key,
        ReadAhead(other_account.pk, session.region.pk, WINDOW),
    )
    with pytest.raises(SendRefused):
        send(other.outgoing(outgoing))
    assert other.reads.identities["sender@example.com"] is None  # its own, unverified
    assert send(session.outgoing(outgoing)).identity == _identity(session.account)


@pytest.mark.django_db
def test_the_quota_of_an_account_with_limits_stays_exact(
    session: Session, outgoing: Callable[..., Outgoing]
) -> None:
    """Limits are read again under the row lock for every message, kept reads or not."""
    AccountRegion.objects.filter(account=session.account).update(
        max_send_rate=100, max_24_hour_send=3
    )
    for _ in range(3):
        send(session.outgoing(outgoing))
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == RefusalKind.DAILY_QUOTA_EXCEEDED
    # Raised within the window: the next message already counts against the new limit.
    AccountRegion.objects.filter(account=session.account).update(max_24_hour_send=4)
    send(session.outgoing(outgoing))
    AccountRegion.objects.filter(account=session.account).update(max_24_hour_send=5)
    AccountRegion.objects.filter(account=session.account).update(max_send_rate=0.001)
    send(session.outgoing(outgoing))  # the bucket's last token
    with pytest.raises(SendRefused) as refused:
        send(session.outgoing(outgoing))
    assert refused.value.kind == RefusalKind.RATE_EXCEEDED
    assert SentMessage.objects.count() == 5


# Without limits the write is its own transaction; with them BEGIN goes with the lock and the
# 24-hour sum, COMMIT with the writes (tests/sending/test_send_queries.py: one round trip more
# each time the reads are not kept).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("limits", "round_trips"), [("none", 1), ("set", 2)])
def test_a_message_on_kept_reads_saves_the_read_round_trip(
    session: Session, outgoing: Callable[..., Outgoing], limits: str, round_trips: int
) -> None:
    if limits == "set":
        AccountRegion.objects.filter(account=session.account).update(
            max_send_rate=100, max_24_hour_send=1000
        )
    with wire.traced() as first:
        send(session.outgoing(outgoing))
    with wire.traced() as kept:
        message = send(session.outgoing(outgoing, to=["another@elsewhere.test"]))
    assert (first.round_trips, kept.round_trips) == (round_trips + 1, round_trips), kept.lines
    assert kept.transaction_states[-1] == "I"  # committed before send() returned
    assert SentMessage.objects.get(pk=message.pk).recipients == ["another@elsewhere.test"]


def test_what_is_kept_is_bounded() -> None:
    account_id = "111111111111"
    reads = ReadAhead(account_id, "r", timedelta(seconds=60))
    state = AccountRegion(account_id=account_id, production_access_enabled=True)
    now = datetime.fromisoformat(START)
    for n in range(MAX_ADDRESSES):
        reads.keep(now, state, {f"a{n}@example.com": None})
    assert reads.settings_and_identities(now, ["a0@example.com"], []) is not None
    reads.keep(now, state, {"new@example.com": None})
    assert reads.identities == {"new@example.com": None}
    assert reads.settings_and_identities(now, ["a0@example.com"], []) is None
