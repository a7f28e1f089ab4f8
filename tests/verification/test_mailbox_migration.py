"""The data migration that turns the old Mailbox's messages into sent messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Account, Region

BEFORE = [("sending", "0002_raw_content"), ("verification", "0001_initial")]
AFTER = [
    ("sending", "0003_mailbox_messages_become_sent_messages"),
    ("verification", "0002_delete_mailboxmessage"),
]
RAW = (
    "Content-Type: text/plain\r\nSubject: sesconsole – Email Address Verification Request\r\n"
    "Message-ID: <0123456789abcdef-link-000000@127.0.0.1>\r\n\r\nOpen http://x/verify/t/\r\n"
)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_mailbox_messages_become_kept_verification_mails(
    account: Account, other_account: Account, region: Region
) -> None:
    apps = _migrate(BEFORE)
    mailbox = apps.get_model("verification", "MailboxMessage")
    made = mailbox.objects.create
    made(account_id=account.pk, region_id=region.pk, from_address="sesconsole <no-reply@x.test>",
         to_addresses="a@example.com", subject="sesconsole – Email Address Verification Request",
         raw=RAW)  # fmt: skip
    made(account_id=other_account.pk, from_address="t@example.com", to_addresses="b@example.com",
         subject="Welcome", raw="Subject: Welcome\r\n\r\nHi\r\n")  # fmt: skip
    made(from_address="t@example.com", to_addresses="nobody@example.com", subject="x", raw="x")

    apps = _migrate(AFTER)

    sent = apps.get_model("sending", "SentMessage")
    default, custom = sent.objects.order_by("account_id")
    assert (default.account_id, default.region_id, default.message_id) == (
        account.pk, region.pk, "0123456789abcdef-link-000000",
    )  # fmt: skip
    assert (default.operation, default.status, default.quota_recipients) == (
        "VerificationEmail", "KEPT", 0,
    )  # fmt: skip
    assert (default.from_address, default.recipients) == ("no-reply@x.test", ["a@example.com"])
    assert bytes(default.mime) == RAW.encode()
    assert (custom.account_id, custom.region_id) == (other_account.pk, "us-east-1")
    assert custom.operation == "SendCustomVerificationEmail"
    assert len(custom.message_id) == 60  # a fresh SES-shaped id: the raw source had none
    assert "nobody@example.com" not in str(list(sent.objects.values_list("recipients", flat=True)))
