"""identities.dns_check against a real Knot server: records published right, missing and wrong
(each classic mistake), with the statuses, SES error types and hints users see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from identities import dns_check, records, tasks
from identities.models import (
    CheckOutcome,
    Identity,
    IdentityEvent,
    RecordCheck,
)
from identities.provisioning import Byodkim
from identities.resolver import Answer, Outcome, Query, SOARecord
from identities.validators import parse_byodkim_private_key
from tests.identities import dns_helpers
from tests.identities.dns_helpers import QueuedTasks, expected, publish_expected, run_check
from tests.support import dns_fixtures, keys
from tests.support.knot import KnotServer

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
knot_dns = dns_helpers.knot_dns

DKIM, MX, SPF = records.Purpose.DKIM, records.Purpose.MAIL_FROM_MX, records.Purpose.MAIL_FROM_SPF
FEEDBACK = "feedback-smtp.us-east-1.amazonses.com"


def byodkim(selector: str = "sel2024") -> Byodkim:
    key = parse_byodkim_private_key(keys.der_base64(keys.rsa_key(2048)))
    return Byodkim(selector=selector, key=key)


def public_key() -> str:
    return keys.spki_base64(keys.rsa_key(2048))


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("example.com", mail_from_domain="mail.example.com")


def row(checks: dict[tuple[str, str], RecordCheck], record: records.DnsRecord) -> RecordCheck:
    return checks[(record.name, record.type)]


def summary(rc: RecordCheck) -> tuple[str, str, str, str]:
    return (rc.status, rc.error, rc.diagnosis, rc.hint)


# --- all good, all missing -----------------------------------------------------------------------
def test_check_correct_records_verify_everything(
    knot_dns: KnotServer,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    publish_expected(knot_dns, domain)
    with django_capture_on_commit_callbacks(execute=True):
        checks = run_check(domain)
    assert sorted((rc.record_type, rc.status, rc.error, rc.hint) for rc in checks.values()) == [
        ("CNAME", "SUCCESS", "", ""),
        ("CNAME", "SUCCESS", "", ""),
        ("CNAME", "SUCCESS", "", ""),
        ("MX", "SUCCESS", "", ""),
        ("TXT", "SUCCESS", "", ""),
    ]
    assert (domain.verification_status, domain.dkim_status, domain.mail_from_status) == (
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
    )
    assert domain.verification_error == ""
    assert domain.last_checked_at == domain.last_success_at
    assert domain.check_lease_until is None
    messages = list(domain.events.filter(kind="status").values_list("message", flat=True))
    assert sorted(messages) == [
        "DKIM status changed from Pending to Verified.",
        "Identity status changed from Pending to Verified.",
        "MAIL FROM status changed from Pending to Verified.",
    ]
    # Every record was found, so no negative answer carried the zone's SOA: the check did not
    # look it up itself but queued the follow-up task that does.
    assert (domain.soa_primary_name_server, domain.soa_checked_at) == ("", None)
    assert queued_tasks() == [("identities.tasks.refresh_zone_soa", {"identity_ids": [domain.pk]})]
    assert tasks.refresh_zone_soa.run(identity_ids=[domain.pk]) == 1
    domain.refresh_from_db()
    assert (domain.soa_primary_name_server, domain.soa_admin_email) == (
        "ns.test",
        "hostmaster@test",
    )
    assert domain.soa_serial_number is not None
    assert domain.soa_checked_at is not None


# --- the zone SOA (VerificationInfo.SOARecord), off the verification path ----------------------
def test_check_takes_soa_from_negative_answers_and_queues_nothing(
    knot_dns: KnotServer,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run_check(domain)  # nothing published: NXDOMAIN answers, each with the zone's SOA
    assert (domain.soa_primary_name_server, domain.soa_admin_email) == (
        "ns.test",
        "hostmaster@test",
    )
    assert domain.soa_checked_at == domain.last_checked_at
    assert queued_tasks() == []


def test_refresh_soa_only_when_missing_or_a_day_old(
    knot_dns: KnotServer,
    domain: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    publish_expected(knot_dns, domain)
    assert dns_check.refresh_soa([domain.pk]) == 1
    assert dns_check.refresh_soa([domain.pk]) == 0  # queued twice: the second run does nothing
    domain.refresh_from_db()
    fresh_at = domain.soa_checked_at
    assert fresh_at is not None
    # A check within the day leaves the SOA alone and queues nothing.
    with django_capture_on_commit_callbacks(execute=True):
        run_check(domain)
    assert (domain.soa_checked_at, queued_tasks()) == (fresh_at, [])
    # A day later it is due again: the check queues the follow-up, which looks it up.
    later = fresh_at + timedelta(hours=24)
    assert dns_check.claim_one(domain.pk, now=later)
    with django_capture_on_commit_callbacks(execute=True):
        dns_check.run_checks([domain.pk], now=later)
    assert queued_tasks() == [("identities.tasks.refresh_zone_soa", {"identity_ids": [domain.pk]})]
    assert dns_check.refresh_soa([domain.pk], now=later) == 1
    domain.refresh_from_db()
    assert domain.soa_checked_at == later


def test_refresh_soa_skips_email_identities_and_unknown_ids(
    knot_dns: KnotServer, make_email: Callable[..., Identity]
) -> None:
    email = make_email("a@example.com")
    assert dns_check.refresh_soa([email.pk, 999_999]) == 0


def _negative(name: str, zone: str) -> Answer:
    soa = SOARecord(zone, "ns.example.net", "hostmaster@example.net", 7)
    return Answer(Query(name, "CNAME"), Outcome.NXDOMAIN, (), soa=soa)


@pytest.mark.parametrize(
    ("answer_name", "soa_zone", "taken"),
    [
        ("abc._domainkey.example.com", "example.com.", True),  # the identity's own zone
        ("abc._domainkey.example.com", ".", True),  # a parent zone holds the identity too
        ("abc._domainkey.example.com", "_domainkey.example.com.", False),  # a delegated child
        ("mail.example.com", "mail.example.com.", False),  # MAIL FROM in its own zone
        ("abc._domainkey.example.com.example.com", "example.com.", True),
        ("other.example.org", ".", False),  # not a name of this identity
    ],
)
def test_zone_soa_only_from_a_zone_holding_the_identity(
    make_domain: Callable[..., Identity], answer_name: str, soa_zone: str, taken: bool
) -> None:
    identity = make_domain("example.com")
    answer = _negative(answer_name, soa_zone)
    assert dns_check.zone_soa(identity, [answer]) == (answer.soa if taken else None)


def test_check_records_soa_of_zone_apex(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain("example.net")
    run_check(identity)
    assert (identity.soa_primary_name_server, identity.soa_admin_email) == (
        "ns.test",
        "hostmaster@example.net",
    )


def test_check_missing_records_stay_pending_with_host_not_found(
    knot_dns: KnotServer, domain: Identity
) -> None:
    checks = run_check(domain)
    cname = expected(domain, DKIM)
    assert summary(row(checks, cname)) == (
        "PENDING",
        "HOST_NOT_FOUND",
        "host_not_found",
        f"No record exists at {cname.name}: add the CNAME record with exactly this name and "
        "value at your DNS provider.",
    )
    assert summary(row(checks, expected(domain, MX))) == (
        "PENDING",
        "HOST_NOT_FOUND",
        "host_not_found",
        "No record exists at mail.example.com: add the MX record with exactly this name and "
        "value at your DNS provider.",
    )
    assert (domain.verification_status, domain.dkim_status, domain.mail_from_status) == (
        "PENDING",
        "PENDING",
        "PENDING",
    )
    assert domain.verification_error == "HOST_NOT_FOUND"
    assert domain.events.filter(kind="status").count() == 0


def test_check_type_not_found_when_name_has_other_records(
    knot_dns: KnotServer, domain: Identity
) -> None:
    knot_dns.add("mail.example.com", "A", "192.0.2.1")
    checks = run_check(domain)
    assert summary(row(checks, expected(domain, MX))) == (
        "PENDING",
        "TYPE_NOT_FOUND",
        "type_not_found",
        "mail.example.com exists but has no MX record: add the MX record with exactly this value.",
    )


def test_check_one_missing_cname_keeps_dkim_pending(knot_dns: KnotServer, domain: Identity) -> None:
    missing = expected(domain, DKIM, 2)
    publish_expected(knot_dns, domain, skip=(missing.name,))
    checks = run_check(domain)
    assert [row(checks, expected(domain, DKIM, i)).status for i in range(3)] == [
        "SUCCESS",
        "SUCCESS",
        "PENDING",
    ]
    assert (domain.dkim_status, domain.mail_from_status) == ("PENDING", "SUCCESS")


# --- classic mistakes: names ---------------------------------------------------------------------
def _misplaced(knot_dns: KnotServer, identity: Identity, wrong_name: str) -> RecordCheck:
    cname = expected(identity, DKIM)
    publish_expected(knot_dns, identity, skip=(cname.name,))
    knot_dns.add(wrong_name, "CNAME", cname.value)
    return row(run_check(identity), cname)


def test_diagnosis_zone_appended(knot_dns: KnotServer, domain: Identity) -> None:
    cname = expected(domain, DKIM)
    rc = _misplaced(knot_dns, domain, f"{cname.name}.example.com")
    assert summary(rc) == (
        "PENDING",
        "HOST_NOT_FOUND",
        "zone_appended",
        f"The record is at {cname.name}.example.com because your DNS provider appended "
        "example.com to the name: enter the name without .example.com, or end it with a dot.",
    )
    assert rc.found == [cname.value]


def test_diagnosis_underscore_dropped(knot_dns: KnotServer, domain: Identity) -> None:
    token = domain.dkim_tokens[0]
    rc = _misplaced(knot_dns, domain, f"{token}.domainkey.example.com")
    assert (rc.diagnosis, rc.hint) == (
        "underscore_dropped",
        f"The record is at {token}.domainkey.example.com, without the underscore: rename it to "
        f"{token}._domainkey.example.com (if your DNS provider refuses underscores, ask its "
        "support to add it).",
    )


@pytest.mark.parametrize("wrong", ["{t}.-domainkey.example.com", "{t}-domainkey.example.com"])
def test_diagnosis_underscore_replaced(knot_dns: KnotServer, domain: Identity, wrong: str) -> None:
    token = domain.dkim_tokens[0]
    name = wrong.format(t=token)
    rc = _misplaced(knot_dns, domain, name)
    assert (rc.diagnosis, rc.hint) == (
        "underscore_replaced",
        f"The record is at {name}, with a hyphen where the underscore belongs: rename it to "
        f"{token}._domainkey.example.com.",
    )


def test_diagnosis_dot_missing_before_domainkey(knot_dns: KnotServer, domain: Identity) -> None:
    token = domain.dkim_tokens[0]
    rc = _misplaced(knot_dns, domain, f"{token}_domainkey.example.com")
    assert rc.diagnosis == "dot_missing"


def test_diagnosis_record_at_www(knot_dns: KnotServer, domain: Identity) -> None:
    token = domain.dkim_tokens[0]
    rc = _misplaced(knot_dns, domain, f"{token}._domainkey.www.example.com")
    assert summary(rc) == (
        "PENDING",
        "HOST_NOT_FOUND",
        "record_at_www",
        f"The record is at {token}._domainkey.www.example.com, under www: move it to "
        f"{token}._domainkey.example.com, because SES verifies example.com itself.",
    )


def test_diagnosis_identity_entered_with_www(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain("www.example.org")
    token = identity.dkim_tokens[0]
    cname = expected(identity, DKIM)
    knot_dns.add(f"{token}._domainkey.example.org", "CNAME", cname.value)
    checks = run_check(identity)
    hint = (
        "This identity is www.example.org, with www.: delete it and create the identity "
        "example.org instead, which covers www.example.org too."
    )
    assert (row(checks, cname).diagnosis, row(checks, cname).hint) == ("identity_www", hint)
    # Nothing published anywhere: the www. entry is still the likely cause.
    other = expected(identity, DKIM, 1)
    assert (row(checks, other).diagnosis, row(checks, other).hint) == ("identity_www", hint)


def test_diagnosis_wrong_relative_name_for_subdomain(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain("news.example.com")
    token = identity.dkim_tokens[0]
    rc = _misplaced(knot_dns, identity, f"{token}._domainkey.example.com")
    assert (rc.diagnosis, rc.error) == ("wrong_subdomain", "HOST_NOT_FOUND")


def test_diagnosis_txt_where_cname_belongs(knot_dns: KnotServer, domain: Identity) -> None:
    cname = expected(domain, DKIM)
    publish_expected(knot_dns, domain, skip=(cname.name,))
    knot_dns.add(cname.name, "TXT", cname.value)
    rc = row(run_check(domain), cname)
    assert summary(rc) == (
        "PENDING",
        "TYPE_NOT_FOUND",
        "txt_instead_of_cname",
        f"{cname.name} has a TXT record where the CNAME belongs: delete the TXT record and add "
        f"a CNAME record with the value {cname.value}.",
    )
    assert rc.found == [cname.value]


# --- classic mistakes: values --------------------------------------------------------------------
def test_diagnosis_cname_wrong_target(knot_dns: KnotServer, domain: Identity) -> None:
    cname = expected(domain, DKIM)
    publish_expected(knot_dns, domain, skip=(cname.name,))
    knot_dns.add(cname.name, "CNAME", "other.dkim.example.net")
    rc = row(run_check(domain), cname)
    assert summary(rc) == (
        "PENDING",
        "INVALID_VALUE",
        "wrong_value",
        f"{cname.name} points to other.dkim.example.net instead of {cname.value}: change the "
        f"CNAME value to {cname.value}.",
    )


def test_diagnosis_cname_value_with_zone_appended(knot_dns: KnotServer, domain: Identity) -> None:
    cname = expected(domain, DKIM)
    publish_expected(knot_dns, domain, skip=(cname.name,))
    knot_dns.add(cname.name, "CNAME", f"{cname.value}.example.com")
    rc = row(run_check(domain), cname)
    assert (rc.error, rc.diagnosis) == ("INVALID_VALUE", "value_zone_appended")


def test_diagnosis_cname_target_case_does_not_matter(
    knot_dns: KnotServer, domain: Identity
) -> None:
    cname = expected(domain, DKIM)
    publish_expected(knot_dns, domain, skip=(cname.name,))
    knot_dns.add(cname.name, "CNAME", cname.value.upper())
    assert row(run_check(domain), cname).status == "SUCCESS"


# --- BYODKIM ----------------------------------------------------------------------------------
@pytest.fixture
def byo(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("byo.example.com", dkim=byodkim())


BYO_NAME = "sel2024._domainkey.byo.example.com"


def _byo_check(knot_dns: KnotServer, identity: Identity, *values: Any) -> RecordCheck:
    knot_dns.add(BYO_NAME, "TXT", *values)
    return run_check(identity)[(BYO_NAME, "TXT")]


def test_byodkim_key_matches_with_extra_tags_and_trailing_semicolon(
    knot_dns: KnotServer, byo: Identity
) -> None:
    rc = _byo_check(knot_dns, byo, f"v=DKIM1; k=rsa; p={public_key()};")
    assert (rc.status, rc.error) == ("SUCCESS", "")
    assert byo.verification_status == "SUCCESS"


def test_byodkim_multi_string_txt_is_joined(knot_dns: KnotServer, byo: Identity) -> None:
    value = f"p={public_key()}"
    rc = _byo_check(knot_dns, byo, (value[:200], value[200:]))
    assert rc.status == "SUCCESS"


def test_byodkim_wrong_key(knot_dns: KnotServer, byo: Identity) -> None:
    other = keys.spki_base64(keys.rsa_key(1024))
    rc = _byo_check(knot_dns, byo, f"v=DKIM1; p={other}")
    assert summary(rc) == (
        "PENDING",
        "INVALID_VALUE",
        "wrong_value",
        f"The public key at {BYO_NAME} does not match this identity's private key: replace the "
        "p= value with the one shown here.",
    )


def test_byodkim_value_lower_cased(knot_dns: KnotServer, byo: Identity) -> None:
    rc = _byo_check(knot_dns, byo, f"p={public_key().lower()}")
    assert summary(rc) == (
        "PENDING",
        "INVALID_VALUE",
        "value_lowercased",
        f"The DKIM key at {BYO_NAME} was lower-cased, probably by your DNS provider: enter it "
        "again with its exact upper- and lower-case letters, because SES matches the value "
        "exactly.",
    )


def test_byodkim_split_on_newline(knot_dns: KnotServer, byo: Identity) -> None:
    key = public_key()
    rc = _byo_check(knot_dns, byo, (f"p={key[:200]}\n", key[200:]))
    assert (rc.error, rc.diagnosis, rc.hint) == (
        "INVALID_VALUE",
        "split_txt",
        f"The DKIM key at {BYO_NAME} has a line break or space inside it: publish it as one "
        "value, or as several quoted strings with nothing added between them.",
    )
    assert rc.found == [f"p={key[:200]}\n{key[200:]}"]  # the line break kept as written


def test_byodkim_truncated_at_255(knot_dns: KnotServer, byo: Identity) -> None:
    value = f"v=DKIM1; k=rsa; p={public_key()}"
    rc = _byo_check(knot_dns, byo, (value[:255],))
    assert (rc.diagnosis, rc.hint) == (
        "truncated_txt",
        f"The DKIM key at {BYO_NAME} was cut off at 255 characters: publish the whole value, "
        "split into quoted strings of at most 255 characters each.",
    )


def test_byodkim_duplicated_txt(knot_dns: KnotServer, byo: Identity) -> None:
    other = keys.spki_base64(keys.rsa_key(1024))
    rc = _byo_check(knot_dns, byo, f"p={public_key()}", f"p={other}")
    assert (rc.error, rc.diagnosis, rc.hint) == (
        "INVALID_VALUE",
        "duplicate_txt",
        f"{BYO_NAME} has 2 DKIM TXT records and receivers cannot tell which key applies: "
        "delete all but the one with the value shown here.",
    )


def test_byodkim_cname_where_txt_belongs(knot_dns: KnotServer, byo: Identity) -> None:
    knot_dns.add(BYO_NAME, "CNAME", "keys.example.net")
    rc = run_check(byo)[(BYO_NAME, "TXT")]
    assert (rc.error, rc.diagnosis, rc.found) == (
        "TYPE_NOT_FOUND",
        "cname_instead_of_txt",
        ["CNAME keys.example.net"],
    )


# --- MAIL FROM ---------------------------------------------------------------------------------
def _mail_from_check(
    knot_dns: KnotServer, domain: Identity, rdtype: str, *values: str
) -> RecordCheck:
    publish_expected(knot_dns, domain, skip=("mail.example.com",))
    record = expected(domain, MX if rdtype == "MX" else SPF)
    other = expected(domain, SPF if rdtype == "MX" else MX)
    knot_dns.add(other.name, other.type, dns_helpers.zone_value(other))
    knot_dns.add("mail.example.com", rdtype, *values)
    return row(run_check(domain), record)


def test_mail_from_several_mx(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(knot_dns, domain, "MX", f"10 {FEEDBACK}", "20 mx.example.net")
    assert summary(rc) == (
        "PENDING",
        "INVALID_VALUE",
        "several_mx",
        f"mail.example.com has 2 MX records but SES needs exactly one: delete all but 10 {FEEDBACK}.",
    )
    assert domain.mail_from_status == "PENDING"


def test_mail_from_mx_at_smtp_endpoint(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(knot_dns, domain, "MX", "10 email-smtp.us-east-1.amazonaws.com")
    assert (rc.diagnosis, rc.hint) == (
        "mx_smtp_endpoint",
        "The MX record at mail.example.com points to the SMTP sending endpoint "
        f"email-smtp.us-east-1.amazonaws.com: change it to {FEEDBACK}.",
    )


def test_mail_from_mx_other_region(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(knot_dns, domain, "MX", "10 feedback-smtp.eu-west-1.amazonses.com")
    assert (rc.diagnosis, rc.hint) == (
        "mx_other_region",
        "The MX record at mail.example.com points to feedback-smtp.eu-west-1.amazonses.com, the "
        f"feedback host of eu-west-1: change it to {FEEDBACK} for us-east-1.",
    )


def test_mail_from_mx_preference_is_not_checked(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(knot_dns, domain, "MX", f"20 {FEEDBACK}")
    assert rc.status == "SUCCESS"


def test_mail_from_several_spf(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(
        knot_dns, domain, "TXT", "v=spf1 include:amazonses.com ~all", "v=spf1 mx -all"
    )
    assert summary(rc) == (
        "SUCCESS",  # the MX decides MAIL FROM, as in SES; the SPF record still says what's wrong
        "INVALID_VALUE",
        "several_spf",
        "mail.example.com has 2 SPF (v=spf1) records and receivers then ignore all of them: "
        "merge them into one record that includes amazonses.com.",
    )
    assert domain.mail_from_status == "SUCCESS"


def test_mail_from_spf_without_include(knot_dns: KnotServer, domain: Identity) -> None:
    rc = _mail_from_check(knot_dns, domain, "TXT", "v=spf1 mx -all")
    assert (rc.diagnosis, rc.hint) == (
        "spf_missing_include",
        "The SPF record at mail.example.com does not include amazonses.com: add "
        "include:amazonses.com before its all mechanism.",
    )


def test_mail_from_merged_spf_with_several_includes_passes(
    knot_dns: KnotServer, domain: Identity
) -> None:
    rc = _mail_from_check(
        knot_dns, domain, "TXT", "v=spf1 include:_spf.example.net include:amazonses.com ~all"
    )
    assert (rc.status, rc.error) == ("SUCCESS", "")


# --- DNS failures ------------------------------------------------------------------------------
@pytest.fixture
def dead_dns(settings: Any) -> None:
    """A nameserver that is not there: a short-lived Knot, stopped."""
    with KnotServer() as server:
        port = server.port
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = port
    settings.DNS_TIMEOUT = 0.3


def test_dns_failure_keeps_pending_and_retries_soon(
    dead_dns: None, domain: Identity, time_machine: Any
) -> None:
    checks = run_check(domain)
    cname = expected(domain, DKIM)
    rc = row(checks, cname)
    assert (rc.status, rc.error, rc.diagnosis) == ("PENDING", "DNS_SERVER_ERROR", "dns_error")
    assert rc.hint.startswith(f"sesconsole could not get an answer for {cname.name} (")
    assert (domain.verification_status, domain.verification_error) == (
        "PENDING",
        "DNS_SERVER_ERROR",
    )
    assert domain.next_check_at is not None
    assert domain.last_checked_at is not None
    assert (domain.next_check_at - domain.last_checked_at).total_seconds() == 300


def test_dns_failure_of_verified_identity_is_temporary(
    knot_dns: KnotServer, domain: Identity, settings: Any
) -> None:
    publish_expected(knot_dns, domain)
    run_check(domain)
    assert domain.verification_status == "SUCCESS"
    with KnotServer() as server:
        port = server.port
    settings.DNS_PORT, settings.DNS_TIMEOUT = port, 0.3
    run_check(domain)
    assert (domain.verification_status, domain.dkim_status, domain.mail_from_status) == (
        "TEMPORARY_FAILURE",
        "TEMPORARY_FAILURE",
        "TEMPORARY_FAILURE",
    )
    assert domain.verification_error == "DNS_SERVER_ERROR"


# --- the chunked path: one resolve per chunk, bulk writes, no per-identity queries ---------------
def test_run_checks_query_count_does_not_grow_with_identities(
    knot_dns: KnotServer,
    make_domain: Callable[..., Identity],
    django_assert_max_num_queries: Any,
) -> None:
    identities = [
        make_domain(f"d{i}.example.com", mail_from_domain=f"m.d{i}.example.com") for i in range(6)
    ]
    identities.append(make_domain("byo.example.com", dkim=byodkim()))
    for identity in identities:
        publish_expected(knot_dns, identity)
    ids = [identity.pk for identity in identities]
    with django_assert_max_num_queries(12):
        assert dns_check.run_checks(ids) == 7
    assert set(Identity.objects.values_list("verification_status", flat=True)) == {"SUCCESS"}
    assert RecordCheck.objects.count() == 6 * 5 + 1
    assert IdentityEvent.objects.filter(kind="status").count() == 6 * 3 + 2


def test_stale_result_is_not_written(knot_dns: KnotServer, domain: Identity) -> None:
    publish_expected(knot_dns, domain)
    assert dns_check.claim_one(domain.pk)
    [loaded] = dns_check.load_identities([domain.pk])
    results = dns_check.check([loaded])
    domain.switch_to_easy_dkim("RSA_2048_BIT")  # new tokens while the check was in flight
    assert dns_check.record_results(results) == 0
    domain.refresh_from_db()
    assert (domain.dkim_status, domain.check_lease_until) == ("PENDING", None)
    assert results[0].dkim == (CheckOutcome.FOUND, "")


def test_check_rows_and_events_carry_the_check_time(knot_dns: KnotServer, domain: Identity) -> None:
    # The rows are written as plain values (COPY on PostgreSQL, INSERT elsewhere): a filter on
    # the check time finds them all, so they are stored as the ORM stores that time.
    publish_expected(knot_dns, domain)
    run_check(domain)
    at = domain.last_checked_at
    assert RecordCheck.objects.filter(identity=domain, checked_at=at).count() == 5
    assert IdentityEvent.objects.filter(identity=domain, kind="status", at=at).count() == 3


def test_recheck_replaces_the_record_rows(knot_dns: KnotServer, domain: Identity) -> None:
    publish_expected(knot_dns, domain)
    run_check(domain)
    domain.clear_mail_from()  # claim_one checks it due or not
    checks = run_check(domain)
    assert sorted(checks) == sorted((r.name, r.type) for r in records.expected_records(domain))
    assert RecordCheck.objects.filter(identity=domain).count() == 3


def test_run_checks_writes_chunks_larger_than_one_insert(
    knot_dns: KnotServer, make_domain: Callable[..., Identity]
) -> None:
    # 105 rows: more than one multi-row INSERT holds on SQLite (999 parameters, 10 a row).
    identities = [
        make_domain(f"r{i}.example.com", mail_from_domain=f"m.r{i}.example.com") for i in range(21)
    ]
    for identity in identities:
        publish_expected(knot_dns, identity)
    assert dns_check.run_checks([identity.pk for identity in identities]) == 21
    assert RecordCheck.objects.filter(status="SUCCESS").count() == 105
    found = RecordCheck.objects.get(identity=identities[20], record_type="MX").found
    assert found == [f"10 {FEEDBACK}"]


# --- an email address's custom MAIL FROM -----------------------------------------------------------
@pytest.fixture
def email(make_email: Callable[..., Identity]) -> Identity:
    identity = make_email("News@example.com")
    identity.set_mail_from("bounce.example.com", "USE_DEFAULT_VALUE")
    return identity


def sweep_once(identity: Identity) -> dict[tuple[str, str], RecordCheck]:
    """What the sweep does for a due identity (claim, check); its RecordCheck rows."""
    assert dns_check.claim_due() == [identity.pk]
    assert dns_check.run_checks([identity.pk]) == 1
    identity.refresh_from_db()
    return {(rc.name, rc.record_type): rc for rc in identity.record_checks.all()}


def test_email_mail_from_checked_by_the_sweep(
    knot_dns: KnotServer,
    email: Identity,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: QueuedTasks,
) -> None:
    publish_expected(knot_dns, email)
    with django_capture_on_commit_callbacks(execute=True):
        checks = sweep_once(email)
    # Its MAIL FROM records alone: an address signs with its domain's DKIM.
    assert sorted((rc.record_type, rc.purpose, rc.status) for rc in checks.values()) == [
        ("MX", "MAIL_FROM_MX", "SUCCESS"),
        ("TXT", "MAIL_FROM_SPF", "SUCCESS"),
    ]
    assert (email.verification_status, email.dkim_status, email.mail_from_status) == (
        "PENDING",
        "NOT_STARTED",
        "SUCCESS",
    )
    assert email.check_lease_until is None
    assert email.next_check_at is not None
    assert queued_tasks() == []  # no zone SOA for an address


def test_email_mail_from_missing_mx_is_explained(knot_dns: KnotServer, email: Identity) -> None:
    checks = sweep_once(email)
    mx = expected(email, MX)
    assert summary(row(checks, mx)) == (
        "PENDING",
        "HOST_NOT_FOUND",
        "host_not_found",
        "No record exists at bounce.example.com: add the MX record with exactly this name and "
        "value at your DNS provider.",
    )
    assert (email.mail_from_status, email.verification_error) == ("PENDING", "")


def test_email_mail_from_in_a_chunk_with_domains(
    knot_dns: KnotServer, email: Identity, domain: Identity
) -> None:
    publish_expected(knot_dns, domain)
    publish_expected(knot_dns, email)
    assert sorted(dns_check.claim_due()) == sorted([email.pk, domain.pk])
    assert dns_check.run_checks([domain.pk, email.pk]) == 2
    email.refresh_from_db()
    domain.refresh_from_db()
    assert (email.mail_from_status, domain.verification_status) == ("SUCCESS", "SUCCESS")
    assert RecordCheck.objects.filter(identity=email).count() == 2
