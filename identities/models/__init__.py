"""Identities and what hangs off them, one module a topic.

- `choices`: the SES enums, the state machine's timings and `next_setup_status`;
- `identity`: `Identity` and its queryset, with every status transition;
- `configuration_sets`, `dkim_keys`, `tags` (tags and sending authorization policies),
  `checks` (per-record DNS check results), `history` (`IdentityEvent`), `dns_servers`
  (RFC 2136 servers and publishing runs).

Everything is re-exported here, so `from identities.models import Identity` keeps working.
"""

from __future__ import annotations

from .checks import RecordCheck
from .choices import (
    CHECKED_STATUSES,
    DNS_ERROR_RETRY,
    KEY_LENGTH_CHANGE_INTERVAL,
    PENDING_BACKOFF,
    SENDABLE_STATUSES,
    SOA_MAX_AGE,
    VERIFICATION_WINDOW,
    VERIFIED_RECHECK,
    BehaviorOnMxFailure,
    CheckOutcome,
    DkimOrigin,
    IdentityType,
    KeyLength,
    MailFromStatus,
    VerificationError,
    VerificationStatus,
    new_dkim_token,
    new_verification_token,
    next_setup_status,
)
from .configuration_sets import ConfigurationSet
from .counts import IdentityCount
from .dkim_keys import DkimKey
from .dns_servers import DnsPublishRun, DnsServer
from .history import IdentityEvent
from .identity import Identity, IdentityQuerySet
from .notifications import IdentityNotifications, NotificationType
from .tags import IdentityPolicy, Tag

__all__ = [
    "CHECKED_STATUSES",
    "DNS_ERROR_RETRY",
    "KEY_LENGTH_CHANGE_INTERVAL",
    "PENDING_BACKOFF",
    "SENDABLE_STATUSES",
    "SOA_MAX_AGE",
    "VERIFICATION_WINDOW",
    "VERIFIED_RECHECK",
    "BehaviorOnMxFailure",
    "CheckOutcome",
    "ConfigurationSet",
    "DkimKey",
    "DkimOrigin",
    "DnsPublishRun",
    "DnsServer",
    "Identity",
    "IdentityCount",
    "IdentityEvent",
    "IdentityNotifications",
    "IdentityPolicy",
    "IdentityQuerySet",
    "IdentityType",
    "KeyLength",
    "MailFromStatus",
    "NotificationType",
    "RecordCheck",
    "Tag",
    "VerificationError",
    "VerificationStatus",
    "new_dkim_token",
    "new_verification_token",
    "next_setup_status",
]
