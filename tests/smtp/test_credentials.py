"""SES SMTP passwords: the documented derivation, and what a login resolves to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from accounts.models import AccessKey, Account
from smtp.credentials import (
    BAD_CREDENTIALS,
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


def test_a_login_keeps_its_sessions_reads_for_the_configured_window(
    account: Account, settings: Any
) -> None:
    settings.SMTP_SESSION_READ_AHEAD_SECONDS = 0.25
    key, secret = AccessKey.issue(account)
    login = authenticate(key.access_key_id, smtp_password(secret, "eu-west-1"), "192.0.2.1")
    assert login.read_ahead.window == timedelta(seconds=0.25)
    assert login.read_ahead.is_for(account.pk, login.region.pk)
    assert login.read_ahead.read_at is None
    again = authenticate(key.access_key_id, smtp_password(secret, "eu-west-1"), "192.0.2.1")
    assert again.read_ahead is not login.read_ahead  # one per session, never shared
