"""The SES enums identities use, the state machine's timings, and the next-status rule."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from django.db import models

KEY_LENGTH_CHANGE_INTERVAL = timedelta(hours=24)

# SES searches for a pending or temporarily failed setup's records for 72 hours.
VERIFICATION_WINDOW = timedelta(hours=72)
# Pending checks back off: minutes at first, then hourly (index: checks since the last change).
PENDING_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
VERIFIED_RECHECK = timedelta(hours=24)  # SES "checks continuously"; daily is plenty
DNS_ERROR_RETRY = timedelta(minutes=5)  # a DNS outage is retried soon, never held against anyone
# VerificationInfo.SOARecord is refreshed by an explicit lookup at most this often; checks
# also take it for free from the negative answers of missing records.
SOA_MAX_AGE = timedelta(hours=24)


class IdentityType(models.TextChoices):
    EMAIL_ADDRESS = "EMAIL_ADDRESS", "Email address"
    DOMAIN = "DOMAIN", "Domain"


class VerificationStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCESS = "SUCCESS", "Verified"
    FAILED = "FAILED", "Failed"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE", "Temporary failure"
    NOT_STARTED = "NOT_STARTED", "Not started"


# Statuses whose identity can send ("verified for sending", VerifiedForSendingStatus and
# SendingEnabled): SUCCESS, and TEMPORARY_FAILURE, which SES keeps sending through while it
# looks for the records again for 72 hours (until FAILED). A DNS error on sesconsole's side
# (DNS_SERVER_ERROR: its resolver timed out or SERVFAILed) can move a verified domain to
# TEMPORARY_FAILURE, and so never stops it from sending.
SENDABLE_STATUSES = ("SUCCESS", "TEMPORARY_FAILURE")


class MailFromStatus(models.TextChoices):
    # The API has no NOT_STARTED here; "no custom MAIL FROM" is an empty value.
    PENDING = "PENDING", "Pending"
    SUCCESS = "SUCCESS", "Verified"
    FAILED = "FAILED", "Failed"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE", "Temporary failure"


class DkimOrigin(models.TextChoices):
    AWS_SES = "AWS_SES", "Easy DKIM"
    EXTERNAL = "EXTERNAL", "Bring your own DKIM (BYODKIM)"


class KeyLength(models.TextChoices):
    RSA_1024_BIT = "RSA_1024_BIT", "RSA_1024_BIT"
    RSA_2048_BIT = "RSA_2048_BIT", "RSA_2048_BIT"

    @property
    def bits(self) -> int:
        return 1024 if self == KeyLength.RSA_1024_BIT else 2048

    @classmethod
    def for_key_size(cls, bits: int) -> KeyLength:
        """The length SES reports for an RSA key of `bits` bits (a BYODKIM key may have any
        size from 1024 to 2048): RSA_1024_BIT up to 1024, RSA_2048_BIT above."""
        return cls.RSA_1024_BIT if bits <= 1024 else cls.RSA_2048_BIT


class BehaviorOnMxFailure(models.TextChoices):
    USE_DEFAULT_VALUE = "USE_DEFAULT_VALUE", "Use default MAIL FROM domain"
    REJECT_MESSAGE = "REJECT_MESSAGE", "Reject message"


class VerificationError(models.TextChoices):
    SERVICE_ERROR = "SERVICE_ERROR", "Service error"
    DNS_SERVER_ERROR = "DNS_SERVER_ERROR", "DNS server error"
    HOST_NOT_FOUND = "HOST_NOT_FOUND", "Host not found"
    TYPE_NOT_FOUND = "TYPE_NOT_FOUND", "Record type not found"
    INVALID_VALUE = "INVALID_VALUE", "Invalid value"
    # DEED replicas (v2 VerificationInfo.ErrorType): why a replica could not follow its parent.
    REPLICATION_ACCESS_DENIED = "REPLICATION_ACCESS_DENIED", "Replication access denied"
    REPLICATION_PRIMARY_NOT_FOUND = "REPLICATION_PRIMARY_NOT_FOUND", "Parent identity not found"
    REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED = (
        "REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED",
        "Parent identity uses BYODKIM",
    )
    REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED = (
        "REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED",
        "Parent identity is itself a replica",
    )
    REPLICATION_PRIMARY_INVALID_REGION = (
        "REPLICATION_PRIMARY_INVALID_REGION",
        "Parent region is not valid",
    )


class CheckOutcome(models.TextChoices):
    """What one DNS check concluded about a setup (DKIM, or MAIL FROM)."""

    FOUND = "FOUND", "All records found"
    MISSING = "MISSING", "Records missing or wrong"
    DNS_ERROR = "DNS_ERROR", "DNS did not answer"


# Statuses the DNS check still acts on; FAILED stops checking ("setup must be restarted").
CHECKED_STATUSES = ("PENDING", "SUCCESS", "TEMPORARY_FAILURE")


def next_setup_status(current: str, since: datetime, outcome: str, now: datetime) -> str | None:
    """SES's state machine for one setup, or None when the status stays as it is.

    PENDING → SUCCESS when found; PENDING for 72 h → FAILED. SUCCESS whose records disappear →
    TEMPORARY_FAILURE, which goes back to SUCCESS when they reappear or to FAILED after 72 h.
    A DNS error (timeout, SERVFAIL, REFUSED) is never a failure: a verified setup becomes
    TEMPORARY_FAILURE (SES cannot confirm it right now), anything else stays as it is, and the
    check is retried in minutes. Only records seen missing can make a setup FAILED.
    """
    if current not in CHECKED_STATUSES:
        return None
    if outcome == CheckOutcome.DNS_ERROR:
        return "TEMPORARY_FAILURE" if current == "SUCCESS" else None
    if outcome == CheckOutcome.FOUND:
        return "SUCCESS" if current != "SUCCESS" else None
    if current == "SUCCESS":
        return "TEMPORARY_FAILURE"
    return "FAILED" if now - since >= VERIFICATION_WINDOW else None


def new_verification_token() -> str:
    """A legacy domain verification token (v1 VerifyDomainIdentity), published as TXT at
    `_amazonses.<domain>`: 32 random bytes in base64, 44 characters like SES's (the generation
    method is UNVERIFIED; the shape is SES's)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_dkim_token() -> str:
    """A 32-character lower-case base32 token, the shape of SES's Easy DKIM tokens."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()
