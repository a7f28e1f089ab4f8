"""SES SMTP passwords: the documented derivation, and what a login resolves to."""

from __future__ import annotations

import pytest

from accounts.models import AccessKey, Account, LoginAttempt
from smtp.credentials import (
    BAD_CREDENTIALS,
    TOO_MANY_FAILURES,
    LoginRefused,
    authenticate,
    smtp_password,
)

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        # TOOLING.md and ses-sending.md §12.3: the doc's example secret through SES's steps.
        ("us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"),
        ("eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"),
        ("us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"),
    ],
)
def test_smtp_password_matches_the_documented_examples(region: str, expected: str) -> None:
    assert smtp_password(DOC_SECRET, region) == expected


def test_smtp_password_has_the_version_4_shape() -> None:
    password = smtp_password("another secret", "ap-south-1")
    assert (len(password), password[0]) == (44, "B")


def test_authenticate_takes_the_region_whose_password_matches(account: Account) -> None:
    key, secret = AccessKey.issue(account)
    login = authenticate(key.access_key_id, smtp_password(secret, "eu-west-1"), "192.0.2.1")
    assert (login.account, login.access_key_id, login.region.code) == (
        account,
        key.access_key_id,
        "eu-west-1",
    )


def test_authenticate_records_the_keys_use(account: Account) -> None:
    key, secret = AccessKey.issue(account)
    authenticate(key.access_key_id, smtp_password(secret, "us-east-1"), "192.0.2.1")
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    "case", ["wrong password", "inactive key", "unknown key", "region without SMTP", "legacy v2"]
)
def test_authenticate_refuses_bad_credentials(account: Account, case: str) -> None:
    key, secret = AccessKey.issue(account)
    username, password = key.access_key_id, smtp_password(secret, "us-east-1")
    if case == "wrong password":
        password = smtp_password("not the secret", "us-east-1")
    elif case == "inactive key":
        key.deactivate()
    elif case == "unknown key":
        username = "AKIANOTAKEYATALL0000"
    elif case == "region without SMTP":
        password = smtp_password(secret, "af-south-1")
    else:
        import base64
        import hashlib
        import hmac

        digest = hmac.new(secret.encode(), b"SendRawEmail", hashlib.sha256).digest()
        password = base64.b64encode(b"\x02" + digest).decode()
    with pytest.raises(LoginRefused) as refused:
        authenticate(username, password, "192.0.2.1")
    assert (refused.value.message, refused.value.temporary) == (BAD_CREDENTIALS, False)


def test_authenticate_stops_checking_after_ten_failures_from_one_address(
    account: Account,
) -> None:
    key, secret = AccessKey.issue(account)
    for attempt in range(10):
        with pytest.raises(LoginRefused):
            authenticate(f"AKIAGUESS{attempt:011d}", "guess", "192.0.2.7")
    with pytest.raises(LoginRefused) as refused:
        authenticate(key.access_key_id, smtp_password(secret, "us-east-1"), "192.0.2.7")
    assert (refused.value.message, refused.value.temporary) == (TOO_MANY_FAILURES, True)
    # Another address is not affected.
    assert authenticate(key.access_key_id, smtp_password(secret, "us-east-1"), "192.0.2.8")


def test_authenticate_stops_checking_a_key_guessed_from_many_addresses(account: Account) -> None:
    key, secret = AccessKey.issue(account)
    for attempt in range(10):
        with pytest.raises(LoginRefused):
            authenticate(key.access_key_id, "guess", f"198.51.100.{attempt}")
    with pytest.raises(LoginRefused) as refused:
        authenticate(key.access_key_id, smtp_password(secret, "us-east-1"), "203.0.113.1")
    assert refused.value.temporary is True
    assert LoginAttempt.objects.filter(username=f"smtp key {key.access_key_id}").count() == 10


def test_successful_login_clears_its_address_and_key_counts(account: Account) -> None:
    """An application server logs in for every batch: its successes never add up to a limit."""
    key, secret = AccessKey.issue(account)
    for _ in range(15):
        authenticate(key.access_key_id, smtp_password(secret, "us-east-1"), "192.0.2.9")
    assert LoginAttempt.objects.count() == 0
