"""accounts.backends: the signed-in user comes with their account seat, in one query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from accounts.backends import ModelBackendWithMembership
from accounts.models import Account, account_for_user


def test_get_user_loads_the_account_in_the_same_query(
    owner: Any, account: Account, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        user = ModelBackendWithMembership().get_user(owner.pk)
        found = account_for_user(user)

    assert found == account


def test_a_user_without_a_seat_has_no_account(
    operator: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        user = ModelBackendWithMembership().get_user(operator.pk)
        found = account_for_user(user)

    assert user == operator
    assert found is None


def test_a_user_loaded_elsewhere_still_finds_the_account(owner: Any, account: Account) -> None:
    user = get_user_model().objects.get(pk=owner.pk)  # without the JOIN

    assert account_for_user(user) == account


def test_inactive_and_unknown_users_are_not_signed_in(owner: Any) -> None:
    get_user_model().objects.filter(pk=owner.pk).update(is_active=False)

    assert ModelBackendWithMembership().get_user(owner.pk) is None
    assert ModelBackendWithMembership().get_user(10**9) is None
