"""`manage.py demo_setup`: the demo account and login printed by the run command."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from accounts.models import Account, Membership

pytestmark = pytest.mark.django_db


def run_demo_setup() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def test_demo_setup_creates_account_and_login() -> None:
    output = run_demo_setup()
    account = Account.objects.get()
    assert (account.id, account.name) == ("123456789012", "Demo")
    user = get_user_model().objects.get()
    assert (user.username, user.membership.account_id, user.membership.role) == (
        "demo",
        "123456789012",
        Membership.Role.OWNER,
    )
    assert output == (
        "Demo account 123456789012: log in as 'demo' with password 'demo-password-change-me' "
        "(also a Django admin superuser).\n"
    )
    assert Client().login(username="demo", password="demo-password-change-me") is True


def test_demo_setup_is_idempotent() -> None:
    run_demo_setup()
    run_demo_setup()
    assert Account.objects.count() == 1
    assert get_user_model().objects.count() == 1
    assert Membership.objects.count() == 1
    assert Client().login(username="demo", password="demo-password-change-me") is True


def test_demo_setup_custom_credentials() -> None:
    call_command("demo_setup", username="alice", password="s3cret-pass", stdout=io.StringIO())
    assert Client().login(username="alice", password="s3cret-pass") is True


def test_demo_setup_never_overwrites_a_changed_password() -> None:
    run_demo_setup()
    user = get_user_model().objects.get(username="demo")
    user.set_password("my-own-password-1")
    user.save()
    output = run_demo_setup()
    assert Client().login(username="demo", password="my-own-password-1") is True
    assert Client().login(username="demo", password="demo-password-change-me") is False
    assert output == (
        "Demo account 123456789012: log in as 'demo' with password 'demo-password-change-me', "
        "or the one you changed it to (also a Django admin superuser).\n"
    )
