"""SES's message ids, the Message-ID header, and the envelope sender (MAIL FROM).

- MessageId: `<4 hex region prefix><12 hex acceptance time in ms>-<uuid4>-000000`, the shape
  SES returns (ses-sending §11). The prefix per region is UNVERIFIED beyond us-east-1 (0100)
  and us-west-2 (0101): every other region gets 0102. One fixed value each, decided here.
- Message-ID header: `<MessageId@email.<SENDING_DOMAIN>>` in us-east-1,
  `<MessageId@<region>.<SENDING_DOMAIN>>` elsewhere (SES: email.amazonses.com and
  us-west-2.amazonses.com).
- The default MAIL FROM domain (no verified custom MAIL FROM, behaviour "Use default"):
  `<SENDING_DOMAIN>` in us-east-1, `<region>.<SENDING_DOMAIN>` elsewhere, SES's per-region
  amazonses.com subdomains (other regions UNVERIFIED). The envelope sender is always
  `<MessageId>@<MAIL FROM domain>`, as SES's is (femiwiki#365, #383).
`SENDING_DOMAIN` (default amazonses.com) is a setting, so a self-hosted deployment names its own.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings

_PREFIX = {"us-east-1": "0100", "us-west-2": "0101"}
_DEFAULT_PREFIX = "0102"


def new_message_id(region: str, accepted_at: datetime) -> str:
    millis = int(accepted_at.timestamp() * 1000)
    prefix = _PREFIX.get(region, _DEFAULT_PREFIX)
    return f"{prefix}{millis:012x}-{uuid.uuid4()}-000000"


def message_id_header(region: str, message_id: str) -> str:
    host = "email" if region == "us-east-1" else region
    return f"<{message_id}@{host}.{settings.SENDING_DOMAIN}>"


def default_mail_from_domain(region: str) -> str:
    if region == "us-east-1":
        return str(settings.SENDING_DOMAIN)
    return f"{region}.{settings.SENDING_DOMAIN}"


def envelope_sender(message_id: str, mail_from_domain: str) -> str:
    return f"{message_id}@{mail_from_domain}"
