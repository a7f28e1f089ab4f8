"""The SES state machine on Identity, the sweep's claims and back-off, Check now, auto-verify
and the admin actions. Time moves with time-machine, never with sleep."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from identities import dns_check, signing_zone, tasks
from identities.models import (
    CheckOutcome,
    DnsServer,
    Identity,
    IdentityEvent,
    next_setup_status,
)
from identities.provisioning import AUTO_VERIFY_MESSAGE
from tests.identities import dns_helpers
from tests.identities.dns_helpers import QueuedTasks, publish_expected, run_check
from tests.support import dns_fixtures
from tests.support.knot import KnotServer

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
knot_dns = dns_helpers.knot_dns


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FOUND, MISSING, DNS_ERROR = CheckOutcome.FOUND, CheckOutcome.MISSING, CheckOutcome.DNS_ERROR


@pytest.fixture
def domain(make_domain: Callable[..., Identity], time_machine: Any) -> Identity:
    time_machine.move_to(T0, tick=False)
    return make_domain("example.com", mail_from_domain="mail.example.com")


def apply(identity: Identity, at: datetime, dkim: str, mail_from: str | None = None) -> None:
    identity.apply_dns_check(dkim=dkim, mail_from=mail_from, error="", soa=None, now=at)
    identity.refresh_from_db()


def statuses(identity: Identity) -> tuple[str, str, str]:
    return (identity.verification_status, identity.dkim_status, identity.mail_from_status)


# --- transitions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "age_hours", "outcome", "new"),
    [
        ("PENDING", 1, FOUND, "SUCCESS"),
        ("PENDING", 71, MISSING, None),
        ("PENDING", 72, MISSING, "FAILED"),
        ("PENDING", 500, DNS_ERROR, None),
        ("SUCCESS", 1, FOUND, None),
        ("SUCCESS", 1, MISSING, "TEMPORARY_FAILURE"),
        ("SUCCESS", 1, DNS_ERROR, "TEMPORARY_FAILURE"),
        ("TEMPORARY_FAILURE", 71, MISSING, None),
        ("TEMPORARY_FAILURE", 72, MISSING, "FAILED"),
        ("TEMPORARY_FAILURE", 500, DNS_ERROR, None),
        ("TEMPORARY_FAILURE", 1, FOUND, "SUCCESS"),
        ("FAILED", 1, FOUND, None),
        ("NOT_STARTED", 1, FOUND, None),
    ],
)
def test_next_setup_status(current: str, age_hours: int, outcome: str, new: str | None) -> None:
    assert next_setup_status(current, T0, outcome, T0 + timedelta(hours=age_hours)) == new


def test_pending_fails_after_72_hours(domain: Identity) -> None:
    apply(domain, T0 + timedelta(hours=71, minutes=59), MISSING, MISSING)
    assert statuses(domain) == ("PENDING", "PENDING", "PENDING")
    apply(domain, T0 + timedelta(hours=72), MISSING, MISSING)
    assert statuses(domain) == ("FAILED", "FAILED", "FAILED")
    assert domain.next_check_at is None  # FAILED stops checking
    assert sorted(domain.events.filter(kind="status").values_list("message", flat=True)) == [
        "DKIM status changed from Pending to Failed.",
        "Identity status changed from Pending to Failed.",
        "MAIL FROM status changed from Pending to Failed.",
    ]


def test_verified_records_gone_then_back(domain: Identity) -> None:
    apply(domain, T0 + timedelta(minutes=1), FOUND, FOUND)
    assert statuses(domain) == ("SUCCESS", "SUCCESS", "SUCCESS")
    gone = T0 + timedelta(days=10)
    apply(domain, gone, MISSING, FOUND)
    assert statuses(domain) == ("TEMPORARY_FAILURE", "TEMPORARY_FAILURE", "SUCCESS")
    assert domain.dkim_status_changed_at == gone
    apply(domain, gone + timedelta(hours=5), FOUND, FOUND)
    assert statuses(domain) == ("SUCCESS", "SUCCESS", "SUCCESS")
    assert domain.verified_at == T0 + timedelta(minutes=1)  # the first verification is kept


def test_temporary_failure_fails_after_72_hours(domain: Identity) -> None:
    apply(domain, T0, FOUND, FOUND)
    apply(domain, T0 + timedelta(days=1), MISSING, MISSING)
    apply(domain, T0 + timedelta(days=4), MISSING, MISSING)
    assert statuses(domain) == ("FAILED", "FAILED", "FAILED")


def test_dns_errors_never_fail(domain: Identity) -> None:
    apply(domain, T0, FOUND, FOUND)
    for hours in (1, 50, 100, 200):
        apply(domain, T0 + timedelta(hours=hours), DNS_ERROR, DNS_ERROR)
        assert statuses(domain) == ("TEMPORARY_FAILURE",) * 3
    apply(domain, T0 + timedelta(hours=201), FOUND, FOUND)
    assert statuses(domain) == ("SUCCESS",) * 3


def test_verification_info_kept(domain: Identity) -> None:
    at = T0 + timedelta(minutes=3)
    domain.apply_dns_check(
        dkim=FOUND, mail_from=MISSING, error="", soa=("ns1.example.net", "a@b.c", 7), now=at
    )
    domain.refresh_from_db()
    assert (domain.last_checked_at, domain.last_success_at, domain.verification_error) == (
        at,
        at,
        "",
    )
    assert (domain.soa_primary_name_server, domain.soa_admin_email, domain.soa_serial_number) == (
        "ns1.example.net",
        "a@b.c",
        7,
    )
    later = at + timedelta(days=2)
    domain.apply_dns_check(
        dkim=MISSING, mail_from=MISSING, error="HOST_NOT_FOUND", soa=None, now=later
    )
    domain.refresh_from_db()
    assert (domain.last_checked_at, domain.last_success_at, domain.verification_error) == (
        later,
        at,
        "HOST_NOT_FOUND",
    )


def test_key_length_change_restarts_dkim_but_keeps_identity(domain: Identity) -> None:
    apply(domain, T0, FOUND, FOUND)
    domain.change_easy_dkim_key_length("RSA_1024_BIT", now=T0 + timedelta(days=2))
    domain.refresh_from_db()
    assert (domain.verification_status, domain.dkim_status) == ("SUCCESS", "PENDING")
    assert (domain.next_check_at, domain.check_count) == (T0 + timedelta(days=2), 0)


def test_switch_to_byodkim_checks_at_once(domain: Identity) -> None:
    from tests.identities.test_dns_check import byodkim

    apply(domain, T0, FOUND, FOUND)
    key = byodkim().key
    domain.switch_to_byodkim("sel", key.base64_der, key.public_key_base64, key.key_size)
    domain.refresh_from_db()
    assert (domain.dkim_status, domain.verification_status, domain.check_count) == (
        "PENDING",
        "PENDING",
        0,
    )
    assert domain.next_check_at is not None
    assert domain.next_check_at <= datetime.now(UTC)


def test_seventy_two_hours_through_real_dns(
    knot_dns: KnotServer, domain: Identity, time_machine: Any
) -> None:
    run_check(domain)
    time_machine.move_to(T0 + timedelta(hours=72), tick=False)
    run_check(domain)
    assert statuses(domain) == ("FAILED", "FAILED", "FAILED")
    assert domain.record_checks.filter(status="FAILED").count() == 5


# --- back-off -------------------------------------------------------------------------------------
def test_pending_back_off_then_hourly_capped_by_deadline(domain: Identity) -> None:
    delays = []
    at = T0
    for _ in range(8):
        apply(domain, at, MISSING, MISSING)
        assert domain.next_check_at is not None
        delays.append(int((domain.next_check_at - at).total_seconds() // 60))
        at = domain.next_check_at
    assert delays == [1, 2, 5, 10, 30, 60, 60, 60]
    apply(domain, T0 + timedelta(hours=71, minutes=30), MISSING, MISSING)
    assert domain.next_check_at == T0 + timedelta(hours=72)


def test_verified_daily_and_dns_error_in_five_minutes(domain: Identity) -> None:
    apply(domain, T0, FOUND, FOUND)
    assert domain.next_check_at == T0 + timedelta(days=1)
    apply(domain, T0 + timedelta(days=1), DNS_ERROR, FOUND)
    assert domain.next_check_at == T0 + timedelta(days=1, minutes=5)


# --- claims ---------------------------------------------------------------------------------------
def _make_due(make_domain: Callable[..., Identity], count: int) -> list[int]:
    ids = [make_domain(f"d{i}.example.com").pk for i in range(count)]
    Identity.objects.update(next_check_at=T0)
    return ids


def test_claims_are_disjoint_and_leases_expire(
    make_domain: Callable[..., Identity], time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    ids = _make_due(make_domain, 5)
    first = dns_check.claim_due(limit=3)
    second = dns_check.claim_due(limit=3)
    assert (len(first), len(second), set(first) | set(second)) == (3, 2, set(ids))
    assert dns_check.claim_due() == []
    assert not dns_check.claim_one(ids[0])  # Check now waits for the sweep holding it
    # A worker died holding the leases: after the lease they are claimed again.
    time_machine.move_to(T0 + dns_check.LEASE + timedelta(seconds=1), tick=False)
    assert sorted(dns_check.claim_due()) == sorted(ids)


def test_claim_skips_email_and_not_due(
    make_domain: Callable[..., Identity], make_email: Callable[..., Identity], time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    due = make_domain("due.example.com")
    later = make_domain("later.example.com")
    make_email("a@example.com")
    Identity.objects.update(next_check_at=T0)
    Identity.objects.filter(pk=later.pk).update(next_check_at=T0 + timedelta(minutes=1))
    assert dns_check.claim_due() == [due.pk]


def test_claim_takes_email_with_custom_mail_from(
    make_email: Callable[..., Identity], time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    email = make_email("a@example.com")
    assert email.next_check_at is None  # verified by mail: nothing to look up in DNS
    email.set_mail_from("mail.example.com", "USE_DEFAULT_VALUE")
    assert (email.next_check_at, email.mail_from_status) == (T0, "PENDING")
    assert dns_check.claim_due() == [email.pk]
    dns_check.release([email.pk])
    email.clear_mail_from()
    assert dns_check.claim_due() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_overlap(make_domain: Callable[..., Identity]) -> None:
    ids = [make_domain(f"c{i}.example.com").pk for i in range(40)]
    Identity.objects.update(next_check_at=datetime.now(UTC) - timedelta(minutes=1))
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            results.append(dns_check.claim_due(limit=15))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    claimed = [pk for result in results for pk in result]
    assert len(claimed) == len(set(claimed)) == 40
    assert set(claimed) == set(ids)


# --- tasks -------------------------------------------------------------------------------------
def test_dns_sweep_queues_chunks(
    make_domain: Callable[..., Identity],
    queued_tasks: QueuedTasks,
    monkeypatch: pytest.MonkeyPatch,
    time_machine: Any,
) -> None:
    time_machine.move_to(T0, tick=False)
    ids = _make_due(make_domain, 7)
    monkeypatch.setattr(dns_check, "CHUNK_SIZE", 3)

    assert tasks.dns_sweep.run() == 7
    # Sent at once, not after commit: each chunk's lease is committed when it is claimed.
    assert queued_tasks() == [
        ("identities.tasks.check_identities", {"identity_ids": chunk})
        for chunk in (ids[:3], ids[3:6], ids[6:])
    ]
    assert tasks.dns_sweep.run() == 0  # leased: nothing twice
    assert queued_tasks() == []


def test_check_tasks_run_against_dns(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    # Real time: TSIG-signed updates carry the clock, and Knot refuses a moved one (BADTIME).
    domain = make_domain("example.com", mail_from_domain="mail.example.com")
    publish_expected(knot_dns, domain)
    assert dns_check.claim_due(now=datetime.now(UTC) + timedelta(minutes=1)) == [domain.pk]
    assert tasks.check_identities.run(identity_ids=[domain.pk, 999_999]) == 1
    domain.refresh_from_db()
    assert statuses(domain) == ("SUCCESS",) * 3
    assert tasks.check_identity_now.run(identity_id=domain.pk) == 1
    assert tasks.check_identity_now.run(identity_id=999_999) == 0


def test_request_check_now_restarts_failed(domain: Identity) -> None:
    apply(domain, T0 + timedelta(hours=73), MISSING, MISSING)
    assert statuses(domain) == ("FAILED",) * 3
    at = T0 + timedelta(days=5)
    assert domain.request_check_now(now=at, actor="alice")
    domain.refresh_from_db()
    assert statuses(domain) == ("PENDING",) * 3
    assert (domain.next_check_at, domain.dkim_status_changed_at, domain.check_count) == (at, at, 0)
    assert set(domain.events.filter(kind="status", at=at).values_list("actor", flat=True)) == {
        "alice"
    }


# --- DNS_AUTO_VERIFY and "Mark verified (skip DNS)" -----------------------------------------------
def test_auto_verify_setting(
    settings: Settings,
    make_domain: Callable[..., Identity],
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    settings.DNS_AUTO_VERIFY = True
    with django_capture_on_commit_callbacks(execute=True):
        identity = make_domain("ci.example.com", mail_from_domain="mail.ci.example.com")
    identity.refresh_from_db()
    assert statuses(identity) == ("SUCCESS",) * 3
    assert identity.next_check_at is None
    assert queued_tasks() == [  # keys, but no DNS check
        ("identities.tasks.start_domain_identity", {"identity_id": identity.pk, "then": "none"})
    ]
    assert identity.events.filter(kind="status").get().message == AUTO_VERIFY_MESSAGE
    assert AUTO_VERIFY_MESSAGE == "Verified at once because DNS_AUTO_VERIFY is on (no DNS check)."


def test_auto_verify_off_by_default_queues_first_check(
    make_domain: Callable[..., Identity],
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        identity = make_domain("ci.example.com")
    assert identity.verification_status == "PENDING"
    assert queued_tasks() == [
        ("identities.tasks.start_domain_identity", {"identity_id": identity.pk, "then": "check"}),
    ]


def test_admin_mark_verified_skip_dns(
    operator_client: Client,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> None:
    domain = make_domain("example.com")
    email = make_email("a@example.org")
    operator_client.post(
        reverse("admin:identities_identity_changelist"),
        {"action": "mark_verified_skip_dns", "_selected_action": [domain.pk, email.pk]},
    )
    domain.refresh_from_db()
    email.refresh_from_db()
    assert (domain.verification_status, domain.dkim_status, email.verification_status) == (
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
    )
    event = IdentityEvent.objects.get(identity=domain, kind="status")
    assert (event.message, event.actor) == (
        "Marked verified without a DNS check (admin action “Mark verified (skip DNS)”).",
        "admin operator",
    )


def test_admin_check_now_queues_task(
    operator_client: Client,
    make_domain: Callable[..., Identity],
    queued_tasks: QueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    domain = make_domain("example.com")
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("admin:identities_identity_changelist"),
            {"action": "check_dns_now", "_selected_action": [domain.pk]},
        )
    assert queued_tasks() == [("identities.tasks.check_identity_now", {"identity_id": domain.pk})]


# --- inheritance ----------------------------------------------------------------------------------
def test_dkim_signing_identity_most_specific_verified_domain_decides(
    make_domain: Callable[..., Identity], make_email: Callable[..., Identity]
) -> None:
    from identities.hierarchy import dkim_signing_identity

    top = make_domain("example.com")
    sub = make_domain("mail.example.com")
    email = make_email("News@Mail.Example.com")

    def signer() -> Identity | None:
        return dkim_signing_identity(email.account, email.region, email.name)

    assert signer() is None
    top.verify_without_dns("test")
    assert signer() == top
    sub.verify_without_dns("test")
    assert signer() == sub
    Identity.objects.filter(pk=sub.pk).update(dkim_signing_enabled=False)
    assert signer() is None  # the most specific verified one decides, and it does not sign
    Identity.objects.filter(pk=sub.pk).update(dkim_signing_enabled=True, dkim_status="PENDING")
    assert signer() is None


# --- signing zone publishing --------------------------------------------------------------------
def test_signing_keys_published_to_operator_server(
    knot_dns: KnotServer,
    make_domain: Callable[..., Identity],
    settings: Settings,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    settings.SIGNING_HOSTED_ZONE = "dkim.example.net"
    server = DnsServer(
        account=None,
        zone="example.net",
        server=knot_dns.host,
        port=knot_dns.port,
        key_name=knot_dns.tsig_name,
        key_algorithm=knot_dns.tsig_algorithm,
    )
    server.set_secret(knot_dns.tsig_secret)
    server.save()
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    assert queued_tasks() == [
        ("identities.tasks.publish_signing_keys", {"identity_id": identity.pk})
    ]
    tasks.publish_signing_keys.run(identity_id=identity.pk)
    # The user's CNAMEs now lead to real keys: the check passes, and the key is there.
    publish_expected(knot_dns, identity)
    run_check(identity)
    assert identity.verification_status == "SUCCESS"
    token = identity.dkim_tokens[0]
    from identities.resolver import Query, resolve_all

    [answer] = asyncio.run(
        resolve_all(
            [Query(f"{token}.dkim.example.net", "TXT")],
            nameservers=[knot_dns.host],
            port=knot_dns.port,
        )
    )
    key = identity.dkim_keys.get(selector=token)
    assert answer.values == (key.txt_value,)
    # Rotated key (new key length): our own record is replaced, not reported as a conflict.
    key.public_key = "AAAA"
    key.save()
    assert signing_zone.publish_identity_keys(identity) == (
        "0 published, 2 already present, 1 replaced"
    )
    [answer] = asyncio.run(
        resolve_all(
            [Query(f"{token}.dkim.example.net", "TXT")],
            nameservers=[knot_dns.host],
            port=knot_dns.port,
        )
    )
    assert answer.values == ("v=DKIM1; k=rsa; p=AAAA",)


# --- email addresses: their custom MAIL FROM alone --------------------------------------------
@pytest.fixture
def email(make_email: Callable[..., Identity], time_machine: Any) -> Identity:
    time_machine.move_to(T0, tick=False)
    identity = make_email("a@example.com")
    identity.set_mail_from("mail.example.com", "USE_DEFAULT_VALUE")
    return identity


def test_email_mail_from_verifies_and_leaves_the_address_alone(email: Identity) -> None:
    apply(email, T0 + timedelta(minutes=1), FOUND, FOUND)
    assert statuses(email) == ("PENDING", "NOT_STARTED", "SUCCESS")  # the address: by mail
    assert (email.last_checked_at, email.verification_error, email.soa_checked_at) == (
        None,
        "",
        None,
    )
    assert email.next_check_at == T0 + timedelta(days=1, minutes=1)
    assert list(email.events.filter(kind="status").values_list("message", flat=True)) == [
        "MAIL FROM status changed from Pending to Verified."
    ]


def test_email_mail_from_backs_off_then_fails_and_stops(email: Identity) -> None:
    apply(email, T0, MISSING, MISSING)
    assert email.next_check_at == T0 + timedelta(minutes=1)
    apply(email, T0 + timedelta(hours=72), MISSING, MISSING)
    assert statuses(email) == ("PENDING", "NOT_STARTED", "FAILED")
    assert email.next_check_at is None


def test_email_mail_from_dns_error_retries_soon(email: Identity) -> None:
    apply(email, T0, MISSING, DNS_ERROR)
    assert (email.mail_from_status, email.next_check_at) == ("PENDING", T0 + timedelta(minutes=5))


def test_migration_schedules_a_first_check_for_existing_email_mail_from(
    make_email: Callable[..., Identity],
) -> None:
    from django.apps import apps

    migration = importlib.import_module("identities.migrations.0004_check_email_mail_from")
    address = make_email("sender@older.example")
    plain = make_email("plain@older.example")
    Identity.objects.filter(pk=address.pk).update(
        mail_from_domain="bounce.older.example", next_check_at=None
    )

    migration.schedule_first_check(apps, None)

    address.refresh_from_db()
    plain.refresh_from_db()
    assert address.next_check_at is not None
    assert plain.next_check_at is None
