"""Failed SMTP logins: a guesser is bounded, the key's own application is not locked out.

The key id is public (it is the SMTP username), so failures naming it must not stop its
legitimate client: per address a hard limit, per key only a delay that spares addresses
which have logged in with it (smtp.credentials). Server tests connect from several loopback
addresses (127.0.0.x) so the server sees distinct clients.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from accounts.models import AccessKey, Account
from smtp.credentials import (
    ADDRESS_FAILURE_LIMIT,
    ADDRESS_LIMITED,
    KEY_FREE_FAILURES,
    KEY_LIMITED,
    LoginRefused,
    SmtpLogin,
    authenticate,
    smtp_password,
)
from tests.smtp.conftest import SmtpCredentials

Connect = Callable[..., smtplib.SMTP]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRONG = "B" + "A" * 43


def _fail(username: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(LoginRefused) as refused:
            authenticate(username, WRONG, address)
        assert refused.value.temporary is False


def _refusal(username: str, password: str, address: str) -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        authenticate(username, password, address)
    return refused.value


def _issue(account: Account) -> tuple[str, str]:
    key, secret = AccessKey.issue(account)
    return key.access_key_id, smtp_password(secret, "us-east-1")


def _distributed_attack(key_id: str, failures: int) -> None:
    """`failures` failed logins on the key, each address at its own limit."""
    for attempt in range(failures):
        _fail(key_id, f"198.51.100.{attempt // ADDRESS_FAILURE_LIMIT}")


# -- per address -------------------------------------------------------------------------------
def test_an_address_is_refused_after_ten_failures_whatever_keys_it_names(
    account: Account,
) -> None:
    key_id, password = _issue(account)
    with time_machine.travel(T0, tick=False):
        for attempt in range(ADDRESS_FAILURE_LIMIT):
            _fail(f"AKIAGUESS{attempt:011d}", "192.0.2.7")
        refused = _refusal(key_id, password, "192.0.2.7")
        assert (refused.message, refused.temporary) == (
            ADDRESS_LIMITED.format(wait="900 seconds"),
            True,
        )
        assert authenticate(key_id, password, "192.0.2.8").access_key_id == key_id
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        assert authenticate(key_id, password, "192.0.2.7").access_key_id == key_id


def test_a_success_with_the_guessers_own_key_does_not_reset_its_address_count(
    account: Account, other_account: Account
) -> None:
    own_id, own_password = _issue(other_account)
    target_id, _ = _issue(account)
    with time_machine.travel(T0, tick=False):
        _fail(target_id, "192.0.2.7", ADDRESS_FAILURE_LIMIT - 1)
        authenticate(own_id, own_password, "192.0.2.7")
        _fail(target_id, "192.0.2.7")
        assert _refusal(own_id, own_password, "192.0.2.7").temporary is True


def test_logins_that_succeed_never_add_up_to_a_limit(account: Account) -> None:
    """An application server logs in for every batch it sends."""
    key_id, password = _issue(account)
    with time_machine.travel(T0, tick=False):
        for _ in range(ADDRESS_FAILURE_LIMIT + 5):
            assert authenticate(key_id, password, "192.0.2.9").access_key_id == key_id


def test_parallel_guesses_on_one_key_check_at_most_the_limit(account: Account) -> None:
    """40 attempts at once from one address: attempts on a key take turns, so exactly
    ADDRESS_FAILURE_LIMIT passwords are checked."""
    key_id, _password = _issue(account)
    barrier = threading.Barrier(8)

    def attempt(_: int) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            authenticate(key_id, WRONG, "192.0.2.7")
        except LoginRefused as refused:
            return "limited" if refused.temporary else "checked"
        finally:
            connection.close()
        return "accepted"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(attempt, range(40)))
    assert outcomes == ["checked"] * ADDRESS_FAILURE_LIMIT + ["limited"] * 30


def test_parallel_logins_from_one_address_all_succeed(account: Account) -> None:
    """An application's workers on one host log in at once, again and again."""
    key_id, password = _issue(account)

    def attempt(_: int) -> str:
        try:
            return authenticate(key_id, password, "192.0.2.9").access_key_id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        logins = list(pool.map(attempt, range(40)))
    assert logins == [key_id] * 40


# -- per key -----------------------------------------------------------------------------------
def test_failures_naming_a_key_do_not_lock_it_for_other_addresses(account: Account) -> None:
    key_id, password = _issue(account)
    with time_machine.travel(T0, tick=False):
        _distributed_attack(key_id, KEY_FREE_FAILURES - 1)
        login = authenticate(key_id, password, "203.0.113.1")
    assert isinstance(login, SmtpLogin)


def test_a_distributed_guess_is_delayed_ever_longer_up_to_five_minutes(account: Account) -> None:
    key_id, password = _issue(account)
    now = T0
    with time_machine.travel(now, tick=False):
        _distributed_attack(key_id, KEY_FREE_FAILURES)
    waits = []
    for attempt in range(12):
        address = f"203.0.113.{attempt}"  # every attempt from a fresh address
        with time_machine.travel(now, tick=False):
            refused = _refusal(key_id, password, address)
        seconds = int(refused.message.split("try again in ")[1].split(" ")[0])
        wait = f"{seconds} second{'' if seconds == 1 else 's'}"
        assert (refused.message, refused.temporary) == (KEY_LIMITED.format(wait=wait), True)
        waits.append(seconds)
        now += timedelta(seconds=seconds)
        with time_machine.travel(now, tick=False):
            _fail(key_id, address)
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == 300


def test_an_address_that_logged_in_with_the_key_is_not_delayed(account: Account) -> None:
    key_id, password = _issue(account)
    with time_machine.travel(T0, tick=False):
        authenticate(key_id, password, "203.0.113.50")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        _distributed_attack(key_id, KEY_FREE_FAILURES)
        assert _refusal(key_id, password, "203.0.113.51").temporary is True
        assert authenticate(key_id, password, "203.0.113.50").access_key_id == key_id
    # Trust lasts a day from the latest success.
    with time_machine.travel(T0 + timedelta(days=1, hours=1, minutes=1), tick=False):
        _distributed_attack(key_id, KEY_FREE_FAILURES)
        assert _refusal(key_id, password, "203.0.113.50").temporary is True


def test_unknown_key_ids_are_delayed_like_known_ones(db: None) -> None:
    """The delay does not tell a guesser whether the key id exists."""
    with time_machine.travel(T0, tick=False):
        _distributed_attack("AKIANOTAKEYATALL0000", KEY_FREE_FAILURES)
        refused = _refusal("AKIANOTAKEYATALL0000", WRONG, "203.0.113.1")
    assert (refused.message, refused.temporary) == (KEY_LIMITED.format(wait="1 second"), True)


# -- against the real server -------------------------------------------------------------------
def _auth_plain(client: smtplib.SMTP, username: str, password: str) -> tuple[int, bytes]:
    """One AUTH PLAIN attempt (smtplib's login() would try LOGIN too after a 535)."""
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return client.docmd("AUTH", "PLAIN " + token)


def _guess_from(connect: Connect, address: str, username: str, times: int) -> list[int]:
    client = connect(source=address)
    return [_auth_plain(client, username, WRONG)[0] for _ in range(times)]


def test_a_guesser_is_stopped_and_the_keys_client_still_logs_in(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    codes = _guess_from(connect, "127.0.0.2", credentials.username, ADDRESS_FAILURE_LIMIT + 1)
    assert codes == [535] * ADDRESS_FAILURE_LIMIT + [454]
    code, text = _auth_plain(
        connect(source="127.0.0.2"), credentials.username, credentials.password
    )
    assert (code, text) == (
        454,
        b"Temporary authentication failure: Too many failed SMTP logins from this address; "
        b"try again in 900 seconds.",
    )
    client = connect(source="127.0.0.3")
    assert client.login(credentials.username, credentials.password)[0] == 235


def test_a_distributed_guess_is_bounded_but_the_keys_client_still_logs_in(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    assert connect(source="127.0.0.3").login(credentials.username, credentials.password)[0] == 235
    guessers = KEY_FREE_FAILURES // ADDRESS_FAILURE_LIMIT
    codes = [
        code
        for guesser in range(guessers)
        for code in _guess_from(
            connect, f"127.0.1.{guesser + 1}", credentials.username, ADDRESS_FAILURE_LIMIT
        )
    ]
    assert codes == [535] * KEY_FREE_FAILURES
    code, text = _auth_plain(connect(source="127.0.2.1"), credentials.username, WRONG)
    assert code == 454
    assert text.startswith(
        b"Temporary authentication failure: Too many failed SMTP logins for this access key; "
    )
    client = connect(source="127.0.0.3")
    assert client.login(credentials.username, credentials.password)[0] == 235
