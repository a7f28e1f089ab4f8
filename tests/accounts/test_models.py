"""Account models: access keys and per-region production access."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import AccessKey, Account, AccountRegion, Region

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_access_key_issue_returns_secret_once(account: Account) -> None:
    key, secret = AccessKey.issue(account, description="CI")
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key.access_key_id)
    assert len(secret) == 40
    key = AccessKey.objects.get(pk=key.pk)
    assert (key.account_id, key.status, key.description) == ("111111111111", "Active", "CI")
    assert secret not in key.secret_encrypted
    assert key.secret() == secret
    assert key.last_used_at is None


def test_access_key_issue_with_given_values(account: Account) -> None:
    key, secret = AccessKey.issue(account, access_key_id="AKIAEXAMPLE", secret="wJalrXUtnFEMI")
    assert (key.access_key_id, secret, key.secret()) == (
        "AKIAEXAMPLE",
        "wJalrXUtnFEMI",
        "wJalrXUtnFEMI",
    )


def test_access_key_issue_makes_distinct_keys(account: Account) -> None:
    (first, first_secret), (second, second_secret) = (
        AccessKey.issue(account),
        AccessKey.issue(account),
    )
    assert first.access_key_id != second.access_key_id
    assert first_secret != second_secret


def test_access_key_deactivate_and_activate(account: Account) -> None:
    key, _ = AccessKey.issue(account)
    key.deactivate()
    assert list(AccessKey.objects.active()) == []
    assert AccessKey.objects.get(pk=key.pk).status == AccessKey.Status.INACTIVE
    key.activate()
    assert list(AccessKey.objects.active()) == [key]


def test_access_key_touch_throttled(account: Account, time_machine: Any) -> None:
    key, _ = AccessKey.issue(account)
    time_machine.move_to(T0, tick=False)
    key.touch()
    assert AccessKey.objects.get(pk=key.pk).last_used_at == T0
    time_machine.move_to(T0 + timedelta(seconds=60), tick=False)
    key.touch()
    assert AccessKey.objects.get(pk=key.pk).last_used_at == T0
    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    key.touch()
    assert AccessKey.objects.get(pk=key.pk).last_used_at == T0 + timedelta(seconds=61)
    assert key.last_used_at == T0 + timedelta(seconds=61)


def test_access_key_touch_keeps_to_once_a_minute_across_processes(
    account: Account, time_machine: Any
) -> None:
    """An instance built from what a process remembered may hold an older last use than
    another process wrote since: the write still waits for the stored time's minute."""
    key, _ = AccessKey.issue(account)
    time_machine.move_to(T0, tick=False)
    key.touch()
    remembered = AccessKey.objects.get(pk=key.pk)
    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    key.touch()  # another process
    time_machine.move_to(T0 + timedelta(seconds=90), tick=False)
    remembered.touch()
    assert AccessKey.objects.get(pk=key.pk).last_used_at == T0 + timedelta(seconds=61)


def test_account_region_settings_created_once(account: Account, region: Region) -> None:
    first = account.region_settings(region)
    assert account.region_settings(region) == first
    assert (first.production_access_enabled, first.review_status) == (False, "")


def test_request_production_access(account: Account, region: Region, time_machine: Any) -> None:
    time_machine.move_to(T0, tick=False)
    row = account.region_settings(region)
    row.request_production_access(
        mail_type=AccountRegion.MailType.TRANSACTIONAL,
        website_url="https://example.com",
        use_case_description="Password resets.",
        additional_contact_email_addresses=["ops@example.com"],
    )
    row = AccountRegion.objects.get(pk=row.pk)
    assert (
        row.review_status,
        row.mail_type,
        row.website_url,
        row.use_case_description,
        row.contact_language,
        row.additional_contact_email_addresses,
        row.requested_at,
        row.production_access_enabled,
    ) == (
        "PENDING",
        "TRANSACTIONAL",
        "https://example.com",
        "Password resets.",
        "EN",
        ["ops@example.com"],
        T0,
        False,
    )
    assert re.fullmatch(r"[0-9a-f]{16}", row.review_case_id)


def test_grant_production_access(account: Account, region: Region) -> None:
    row = account.region_settings(region)
    row.request_production_access(mail_type="MARKETING", website_url="https://example.com")
    row.grant_production_access()
    row = AccountRegion.objects.get(pk=row.pk)
    assert (row.production_access_enabled, row.review_status) == (True, "GRANTED")


def test_request_when_already_granted_keeps_status(account: Account, region: Region) -> None:
    row = account.region_settings(region)
    row.grant_production_access()
    row.request_production_access(mail_type="MARKETING", website_url="https://example.com")
    row = AccountRegion.objects.get(pk=row.pk)
    assert (row.production_access_enabled, row.review_status, row.review_case_id) == (
        True,
        "GRANTED",
        "",
    )


def test_deny_production_access(account: Account, region: Region) -> None:
    row = account.region_settings(region)
    row.grant_production_access()
    row.deny_production_access()
    row = AccountRegion.objects.get(pk=row.pk)
    assert (row.production_access_enabled, row.review_status) == (False, "DENIED")


def test_region_signing_hosted_zone(settings: Any) -> None:
    settings.SIGNING_HOSTED_ZONE = "dkim.example.net"
    assert Region.objects.get(code="us-east-1").signing_hosted_zone == "dkim.example.net"
    assert (
        Region.objects.get(code="ap-northeast-3").signing_hosted_zone
        == "dkim.ap-northeast-3.amazonses.com"
    )
