"""Sign-in rate limit: 10 failures per user name and address in 15 minutes, then 429."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse

from accounts.forms import TOO_MANY_SIGN_IN_FAILURES
from accounts.models import LoginAttempt
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


def test_the_limit_is_per_user_name_and_address(owner: Any, teammate: Any) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(10)
        other_address = _sign_in(PASSWORD, address="198.51.100.1")
        other_user = _sign_in(PASSWORD, username="teammate")

    assert (other_address.status_code, other_user.status_code) == (302, 302)


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
