"""Sign-in rate limit: 10 failures per user name and address in 15 minutes, then 429; per
user name across addresses, a bounded back-off; the check and the count are one atomic step."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.forms import TOO_MANY_SIGN_IN_FAILURES
from accounts.models import LOGIN_FAILURE_LIMIT, LoginAttempt
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USER_BACKOFF = "Too many failed sign-in attempts for this user name. Wait {seconds} and try again."


def _sign_in(password: str, *, username: str = "owner", address: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=address).post(
        reverse("login"), {"username": username, "password": password}
    )


def _fail(times: int, **kwargs: Any) -> None:
    for _ in range(times):
        assert _sign_in("wrong", **kwargs).status_code == 200


def test_eleventh_attempt_is_refused_even_with_the_right_password(owner: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(10)
        response = _sign_in(PASSWORD)

    assert response.status_code == 429
    assert TOO_MANY_SIGN_IN_FAILURES in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_ninth_failure_still_lets_the_right_password_in(owner: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(9)
        response = _sign_in(PASSWORD)

    assert response.status_code == 302


def test_sign_in_works_again_after_the_window(owner: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(10)
    with time_machine.travel(T0 + timedelta(minutes=14, seconds=59), tick=False):
        assert _sign_in(PASSWORD).status_code == 429
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        assert _sign_in(PASSWORD).status_code == 302


def test_a_success_resets_the_count(owner: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(9)
        assert _sign_in(PASSWORD).status_code == 302
        _fail(9)
        response = _sign_in(PASSWORD)

    assert response.status_code == 302
    assert LoginAttempt.objects.count() == 0


def test_the_hard_limit_is_per_user_name_and_address(owner: Any, teammate: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(10)
        other_user = _sign_in(PASSWORD, username="teammate")
        # Another address is not locked out, only slowed down by the user name's back-off.
        other_address = _sign_in(PASSWORD, address="198.51.100.1")
        assert other_address.status_code == 429
        assert USER_BACKOFF.format(seconds="1 second") in other_address.content.decode()
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        assert _sign_in(PASSWORD, address="198.51.100.1").status_code == 302
    assert other_user.status_code == 302


def test_failures_from_many_addresses_back_off_the_user_name(owner: Any) -> None:
    """A fresh address no longer gets a fresh budget: after 10 failures in the hour from any
    addresses, each attempt waits 1 s, 2 s, 4 s, ... up to five minutes."""
    now = T0
    waits = []
    for attempt in range(30):
        address = f"198.51.100.{attempt}"
        with time_machine.travel(now, tick=False):
            response = _sign_in("wrong", address=address)
        if response.status_code == 429:
            seconds = int(response.content.decode().split("Wait ")[1].split(" second")[0])
            waits.append(seconds)
            now += timedelta(seconds=seconds)
            with time_machine.travel(now, tick=False):
                assert _sign_in("wrong", address=address).status_code == 200
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == 300  # bounded: the real user is slowed down, never locked out
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        assert _sign_in(PASSWORD, address="203.0.113.99").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_check_at_most_the_limit(owner: Any) -> None:
    """40 attempts at once from one address: the check and the count are one step per user,
    so exactly LOGIN_FAILURE_LIMIT passwords are checked (user_login_failed counts them)."""
    checked = []

    def count(**kwargs: Any) -> None:
        checked.append(kwargs["credentials"]["username"])

    user_login_failed.connect(count, dispatch_uid="test-concurrent-login")
    barrier = threading.Barrier(8)

    def attempt(_: int) -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            return int(_sign_in("wrong").status_code)
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(pool.map(attempt, range(40)))
    finally:
        user_login_failed.disconnect(dispatch_uid="test-concurrent-login")
    assert len(checked) == LOGIN_FAILURE_LIMIT
    assert statuses == [200] * LOGIN_FAILURE_LIMIT + [429] * (40 - LOGIN_FAILURE_LIMIT)
    assert LoginAttempt.objects.count() == LOGIN_FAILURE_LIMIT


def test_refused_attempts_do_not_extend_the_lockout(owner: Any) -> None:
    """Only password checks count: retrying while locked out does not restart the window."""
    with time_machine.travel(T0, tick=False):
        _fail(10)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        for _ in range(5):
            assert _sign_in("wrong").status_code == 429
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        assert _sign_in(PASSWORD).status_code == 302


def test_unknown_user_names_are_limited_too(db: None) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(10, username="nobody")
        response = _sign_in("wrong", username="nobody")

    assert response.status_code == 429
