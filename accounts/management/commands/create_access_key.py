"""Create an API access key for scripted set-ups (CI, local SES stand-ins) and print it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AccessKey, Account


class Command(BaseCommand):
    help = (
        "Create an access key for an account and print its ID and secret. Give --access-key-id "
        "and --secret to use fixed values (e.g. the ones a CI job already exports)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--account", required=True, help="The 12-digit account ID.")
        parser.add_argument("--access-key-id", default=None)
        parser.add_argument("--secret", default=None)
        parser.add_argument("--description", default="Created by manage.py create_access_key")

    def handle(
        self,
        *args: Any,
        account: str,
        access_key_id: str | None,
        secret: str | None,
        description: str,
        **options: Any,
    ) -> None:
        owner = Account.objects.filter(pk=account).first()
        if owner is None:
            raise CommandError(
                f"There is no account {account}. Create it in admin (or run demo_setup) first."
            )
        if access_key_id and AccessKey.objects.filter(access_key_id=access_key_id).exists():
            raise CommandError(f"The access key {access_key_id} exists already; choose another ID.")
        if secret is not None and len(secret) < 16:
            raise CommandError("Use a secret of at least 16 characters.")
        key, plain_secret = AccessKey.issue(
            owner, description=description, access_key_id=access_key_id, secret=secret
        )
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={plain_secret}")
