"""Create the demo account and login printed by `make run`, once: every `make run` calls this,
and a password the user changed since must survive it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Account, Membership

DEMO_ACCOUNT_ID = "123456789012"


class Command(BaseCommand):
    help = "Create the demo account (123456789012) with a login, and print the credentials."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-password-change-me")

    @transaction.atomic
    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        account, _ = Account.objects.get_or_create(id=DEMO_ACCOUNT_ID, defaults={"name": "Demo"})
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None:
            self.stdout.write(
                f"Demo account {account.id}: log in as {username!r} with password {password!r}, "
                "or the one you changed it to (also a Django admin superuser)."
            )
            return
        user = User.objects.create_user(
            username=username, password=password, is_staff=True, is_superuser=True
        )
        Membership.objects.create(user=user, account=account, role=Membership.Role.OWNER)
        self.stdout.write(
            f"Demo account {account.id}: log in as {username!r} with password {password!r} "
            "(also a Django admin superuser)."
        )
