"""A login does the same work whether its key id exists or not, and whichever region its
password names: what it derives and compares is recorded here, not timed (smtp.credentials).
"""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from accounts.models import AccessKey, Account
from sesconsole import encryption
from smtp import credentials
from smtp.credentials import LoginRefused, authenticate, smtp_password, smtp_regions


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every decryption, derivation and comparison a login makes, in order (the real
    functions still do the work)."""
    calls: list[tuple[str, Any]] = []
    decrypt, derive, compare = encryption.decrypt, credentials.smtp_password, hmac.compare_digest

    def recording_decrypt(token: str) -> str:
        calls.append(("decrypt", None))
        return decrypt(token)

    def recording_derive(secret: str, region: str) -> str:
        calls.append(("derive", region))
        return derive(secret, region)

    def recording_compare(a: Any, b: Any) -> bool:
        calls.append(("compare", (type(a), type(b), len(a))))
        return compare(a, b)

    monkeypatch.setattr(encryption, "decrypt", recording_decrypt)
    monkeypatch.setattr(credentials, "smtp_password", recording_derive)
    monkeypatch.setattr(hmac, "compare_digest", recording_compare)
    return calls


def _attempt(username: str, password: str) -> bool:
    try:
        authenticate(username, password, "192.0.2.1")
    except LoginRefused:
        return False
    return True


def test_an_unknown_key_id_is_derived_and_compared_like_a_known_one(
    account: Account, work: list[tuple[str, Any]]
) -> None:
    key, _secret = AccessKey.issue(account)
    guess = smtp_password("a guess", "us-east-1")
    assert _attempt(key.access_key_id, guess) is False
    known = list(work)
    work.clear()
    assert _attempt("AKIANOTAKEYATALL0000", guess) is False
    regions = [region.code for region in smtp_regions()]
    assert work == known
    assert known == [("decrypt", None)] + [
        step for code in regions for step in (("derive", code), ("compare", (bytes, bytes, 44)))
    ]


def test_every_region_is_compared_even_after_a_match(
    account: Account, work: list[tuple[str, Any]]
) -> None:
    key, secret = AccessKey.issue(account)
    first_region = smtp_regions()[0].code
    work.clear()
    assert _attempt(key.access_key_id, smtp_password(secret, first_region)) is True
    compared = [step for step in work if step[0] == "compare"]
    assert len(compared) == len(smtp_regions())


def test_the_dummy_secret_matches_no_password_a_client_can_know(account: Account) -> None:
    """An unknown key id with the password of a key that does exist is still refused."""
    _key, secret = AccessKey.issue(account)
    assert _attempt("AKIANOTAKEYATALL0000", smtp_password(secret, "us-east-1")) is False
