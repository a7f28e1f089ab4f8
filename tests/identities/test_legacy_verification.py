"""Legacy (SES v1) domain verification: the `_amazonses` TXT record, checked against a real Knot
server, with its statuses, the 72-hour window, the classic mistakes, and where it is shown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from identities import dns_check, records
from identities.dns_publish import Record, UpdateTarget, publish
from identities.models import Identity, RecordCheck
from tests.identities import dns_helpers
from tests.identities.dns_helpers import expected, publish_expected, run_check
from tests.support import dns_fixtures
from tests.support.knot import KnotServer

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
knot_dns = dns_helpers.knot_dns

TXT_NAME = "_amazonses.example.com"


@pytest.fixture
def legacy(make_domain: Callable[..., Identity]) -> Identity:
    """A domain as v1 VerifyDomainIdentity creates it: no DKIM, a TXT token to publish."""
    return make_domain("example.com", dkim=None, legacy_verification=True)


def txt_row(identity: Identity) -> RecordCheck:
    return identity.record_checks.get(name=TXT_NAME, record_type="TXT")


def test_legacy_domain_expects_only_the_txt_record(legacy: Identity) -> None:
    assert records.expected_records(legacy) == [
        records.DnsRecord(
            records.Purpose.VERIFICATION, TXT_NAME, "TXT", f'"{legacy.verification_token}"'
        )
    ]
    assert (legacy.verification_status, legacy.legacy_txt_status, legacy.dkim_status) == (
        "PENDING",
        "PENDING",
        "NOT_STARTED",
    )
    assert legacy.dkim_signing_enabled is False


def test_published_txt_record_verifies_the_domain(knot_dns: KnotServer, legacy: Identity) -> None:
    publish_expected(knot_dns, legacy)

    run_check(legacy)

    assert (legacy.verification_status, legacy.legacy_txt_status, legacy.dkim_status) == (
        "SUCCESS",
        "SUCCESS",
        "NOT_STARTED",
    )
    assert (txt_row(legacy).status, txt_row(legacy).hint) == ("SUCCESS", "")
    assert legacy.last_success_at == legacy.last_checked_at
    assert sorted(legacy.events.filter(kind="status").values_list("message", flat=True)) == [
        "Identity status changed from Pending to Verified.",
        "Verification TXT record status changed from Pending to Verified.",
    ]


def test_token_among_other_regions_tokens_verifies(knot_dns: KnotServer, legacy: Identity) -> None:
    knot_dns.add_many(
        [
            (TXT_NAME, "TXT", "EXAMPLEotherRegionTokenxxxxxxxxxxxxxxxxxxx="),
            (TXT_NAME, "TXT", legacy.verification_token),
        ]
    )

    run_check(legacy)

    assert legacy.verification_status == "SUCCESS"


def test_missing_txt_record_stays_pending_then_fails_after_72_hours(
    knot_dns: KnotServer, legacy: Identity
) -> None:
    run_check(legacy)

    row = txt_row(legacy)
    assert (row.status, row.error, row.diagnosis) == ("PENDING", "HOST_NOT_FOUND", "host_not_found")
    assert legacy.verification_error == "HOST_NOT_FOUND"
    assert legacy.verification_status == "PENDING"

    later = legacy.legacy_txt_status_changed_at + timedelta(hours=72, minutes=1)
    assert dns_check.claim_one(legacy.pk, later)
    dns_check.run_checks([legacy.pk], now=later)
    legacy.refresh_from_db()
    assert (legacy.legacy_txt_status, legacy.verification_status) == ("FAILED", "FAILED")
    assert legacy.next_check_at is None


def test_dkim_alone_verifies_a_domain_with_a_txt_token(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    both = make_domain("example.com", legacy_verification=True)  # Easy DKIM and a TXT token
    publish_expected(knot_dns, both, skip=(TXT_NAME,))

    run_check(both)

    assert (both.dkim_status, both.legacy_txt_status, both.verification_status) == (
        "SUCCESS",
        "PENDING",
        "SUCCESS",
    )


@pytest.mark.parametrize(
    ("name", "value", "diagnosis", "hint"),
    [
        (
            "amazonses.example.com",
            "{token}",
            "underscore_dropped",
            "The record is at amazonses.example.com, without the underscore: rename it to "
            "_amazonses.example.com (if your DNS provider refuses underscores, ask its support "
            "to add it).",
        ),
        (
            "_amazonses.example.com.example.com",
            "{token}",
            "zone_appended",
            "The record is at _amazonses.example.com.example.com because your DNS provider "
            "appended example.com to the name: enter the name without .example.com, or end it "
            "with a dot.",
        ),
        (
            TXT_NAME,
            '"{token}"',
            "value_quoted",
            "The TXT record at _amazonses.example.com holds the token with extra quotes or "
            "spaces around it: enter the value as {token} alone (your DNS provider adds the "
            "quotes).",
        ),
        (
            TXT_NAME,
            "{lower}",
            "value_lowercased",
            "The token at _amazonses.example.com was lower-cased, probably by your DNS "
            "provider: enter it again with its exact upper- and lower-case letters, because SES "
            "matches the value exactly.",
        ),
    ],
)
def test_classic_mistakes_are_diagnosed(
    knot_dns: KnotServer, legacy: Identity, name: str, value: str, diagnosis: str, hint: str
) -> None:
    token = legacy.verification_token
    knot_dns.add(name, "TXT", value.format(token=token, lower=token.lower()))

    run_check(legacy)

    row = txt_row(legacy)
    assert (row.status, row.diagnosis, row.hint) == (
        "PENDING",
        diagnosis,
        hint.format(token=token),
    )
    assert legacy.verification_status == "PENDING"


def test_check_now_restarts_a_failed_txt_verification(legacy: Identity) -> None:
    Identity.objects.filter(pk=legacy.pk).update(
        legacy_txt_status="FAILED", verification_status="FAILED"
    )
    legacy.refresh_from_db()

    assert legacy.request_check_now(actor="test")

    assert (legacy.legacy_txt_status, legacy.verification_status) == ("PENDING", "PENDING")


def test_txt_record_in_csv_zone_file_and_console(
    legacy: Identity, client: Client, owner: object
) -> None:
    client.force_login(owner)  # type: ignore[arg-type]
    kwargs = {"region": "us-east-1", "name": "example.com"}

    csv_text = client.get(reverse("identities:records_csv", kwargs=kwargs)).content.decode()
    zone = client.get(reverse("identities:records_zone", kwargs=kwargs)).content.decode()
    page = client.get(reverse("identities:detail", kwargs=kwargs)).content.decode()

    token = legacy.verification_token
    assert csv_text.splitlines()[1] == f'TXT,_amazonses.example.com,"""{token}"""'
    assert f'_amazonses.example.com.\t1800\tIN\tTXT\t"{token}"' in zone
    assert "Domain verification TXT record" in page
    assert token in page
    assert expected(legacy, records.Purpose.VERIFICATION).name == TXT_NAME


def test_txt_record_is_published_beside_other_regions_tokens(
    knot_dns: KnotServer, legacy: Identity
) -> None:
    other = "EXAMPLEotherRegionTokenxxxxxxxxxxxxxxxxxxx="
    knot_dns.add(TXT_NAME, "TXT", other)
    target = UpdateTarget(
        zone=".",
        server=knot_dns.host,
        port=knot_dns.port,
        key_name=knot_dns.tsig_name,
        key_algorithm=knot_dns.tsig_algorithm,
        key_secret=knot_dns.tsig_secret,
    )
    wanted = [Record(r.name, r.type, r.value) for r in records.expected_records(legacy)]

    result = publish(target, wanted)

    assert (result.published, result.conflicts) == (wanted, [])
    run_check(legacy)
    assert legacy.verification_status == "SUCCESS"
