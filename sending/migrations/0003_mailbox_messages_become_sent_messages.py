"""The embedded Mailbox's messages (verification mails kept in the console) become sent
messages: the Sent messages page is the one place for outgoing mail. A message without an
account was never shown to anyone and is not carried over."""

import email.utils
import re
import secrets
import uuid

from django.db import migrations

_MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^@>\s]{1,64})@", re.IGNORECASE | re.MULTILINE)
DEFAULT_REGION = "us-east-1"


def _message_id(raw, taken):
    headers = raw.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    found = _MESSAGE_ID.search(headers)
    if found and found.group(1) not in taken:
        return found.group(1)
    return f"{secrets.token_hex(8)}-{uuid.uuid4()}-000000"


def copy_mailbox(apps, schema_editor):
    MailboxMessage = apps.get_model("verification", "MailboxMessage")
    SentMessage = apps.get_model("sending", "SentMessage")
    taken = set(SentMessage.objects.values_list("message_id", flat=True))
    for kept in MailboxMessage.objects.filter(account__isnull=False).iterator():
        message_id = _message_id(kept.raw, taken)
        taken.add(message_id)
        sender = email.utils.parseaddr(kept.from_address)[1] or kept.from_address
        recipients = [a.strip() for a in kept.to_addresses.split(",") if a.strip()]
        raw = kept.raw.encode("utf-8")
        default_mail = "Email Address Verification Request" in kept.subject
        SentMessage.objects.create(
            account_id=kept.account_id,
            region_id=kept.region_id or DEFAULT_REGION,
            message_id=message_id,
            actor="system (verification mail)",
            operation="VerificationEmail" if default_mail else "SendCustomVerificationEmail",
            raw_content=False,
            from_header=kept.from_address[:998],
            from_address=sender[:320],
            subject=kept.subject[:998],
            envelope_from=sender[:320],
            recipients=recipients,
            recipients_text=", ".join(recipients),
            quota_recipients=0,
            mime=raw,
            size=len(raw),
            status="KEPT",
            accepted_at=kept.created_at,
            finished_at=kept.created_at,
            attempts=1,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sending", "0002_raw_content"),
        ("verification", "0001_initial"),
        ("accounts", "0002_seed_regions"),
    ]

    operations = [migrations.RunPython(copy_mailbox, migrations.RunPython.noop)]
