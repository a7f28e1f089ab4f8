"""Verification links (the 24-hour link in a verification mail).

Only a SHA-256 hash of a link's token identifies it. The plain token must reach the mail, and
the mail is rendered by a Celery task that may retry for half an hour while an SMTP server is
down, so the token is also kept *encrypted* (Fernet, like DKIM private keys) until the mail
has gone out or failed for good; from then on only the hash is left.

SES's FAQ (Q3) says SendCustomVerificationEmail creates no identity until the link is
clicked, so a link belongs to an address (account + region + exact address), and its
identity is set only when one existed when the mail was requested. Only the newest link of an
address works: issuing one supersedes the older ones.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Region
from identities.models import Identity
from sesconsole import encryption

if TYPE_CHECKING:
    from templates_app.models import CustomVerificationEmailTemplate

LINK_LIFETIME = timedelta(hours=24)
# A worker that died while sending leaves the link SENDING; after this long another may retry.
SENDING_LEASE = timedelta(minutes=10)
MAX_TOKEN_LENGTH = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_message_id() -> str:
    """The shape of an SES MessageId: 16 hex, a UUID, and a 6-digit suffix."""
    return f"{secrets.token_hex(8)}-{uuid.uuid4()}-000000"


class MailStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    SENDING = "SENDING", "Sending"
    SENT = "SENT", "Sent"
    FAILED = "FAILED", "Failed"


class LinkOutcome(enum.Enum):
    """What a click on a link did."""

    VERIFIED = "verified"
    ALREADY_USED = "already_used"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"


class VerificationLinkQuerySet(models.QuerySet["VerificationLink"]):
    def live(self) -> VerificationLinkQuerySet:
        """Neither used nor replaced by a newer link."""
        return self.filter(used_at__isnull=True, superseded_at__isnull=True)

    def for_address(
        self, account: Account | str, region: Region | str, address: str
    ) -> VerificationLinkQuerySet:
        account_id = account if isinstance(account, str) else account.pk
        region_id = region if isinstance(region, str) else region.pk
        return self.filter(account_id=account_id, region_id=region_id, email_address=address)

    def lapsed(self, now: datetime) -> VerificationLinkQuerySet:
        """Live links whose 24 hours are over (counted from sending, or from the request
        when the mail never went out)."""
        return self.live().filter(
            Q(expires_at__lte=now)
            | Q(mail_status=MailStatus.FAILED, created_at__lte=now - LINK_LIFETIME)
        )


class VerificationLink(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    email_address = models.CharField(max_length=320)  # exact: addresses are case-sensitive
    # Null for SendCustomVerificationEmail to an address with no identity yet (FAQ Q3).
    identity = models.ForeignKey(
        Identity, null=True, blank=True, on_delete=models.CASCADE, related_name="verification_links"
    )
    template = models.ForeignKey(
        "templates_app.CustomVerificationEmailTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    template_name = models.CharField(max_length=64, blank=True)  # kept if the template goes
    # Copied from the template when the mail is requested, so editing or deleting the template
    # later can't send a click anywhere the sender didn't choose at the time.
    success_redirection_url = models.URLField(max_length=2000, blank=True)
    failure_redirection_url = models.URLField(max_length=2000, blank=True)
    configuration_set_name = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=80, unique=True, default=new_message_id)

    token_hash = models.CharField(max_length=64, unique=True)
    token_encrypted = models.TextField(blank=True, editable=False)  # emptied once sent/failed
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    mail_status = models.CharField(
        max_length=8, choices=MailStatus.choices, default=MailStatus.QUEUED
    )
    mail_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)

    objects = VerificationLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "region", "email_address", "created_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"link for {self.email_address} ({self.get_mail_status_display()})"

    # --- issuing ---------------------------------------------------------------------------
    @classmethod
    def issue(
        cls,
        *,
        account: Account,
        region: Region,
        email_address: str,
        identity: Identity | None = None,
        template: CustomVerificationEmailTemplate | None = None,
        configuration_set_name: str = "",
        now: datetime | None = None,
    ) -> VerificationLink:
        """A fresh QUEUED link for the address; older live links of the address stop working."""
        now = now or timezone.now()
        token = secrets.token_urlsafe(32)
        with transaction.atomic():
            cls.objects.for_address(account, region, email_address).live().update(
                superseded_at=now, token_encrypted=""
            )
            return cls.objects.create(
                account=account,
                region=region,
                email_address=email_address,
                identity=identity,
                template=template,
                template_name=getattr(template, "name", ""),
                success_redirection_url=getattr(template, "success_redirection_url", ""),
                failure_redirection_url=getattr(template, "failure_redirection_url", ""),
                configuration_set_name=configuration_set_name,
                token_hash=hash_token(token),
                token_encrypted=encryption.encrypt(token),
                created_at=now,
                expires_at=now + LINK_LIFETIME,
            )

    @classmethod
    def find(cls, token: str) -> VerificationLink | None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        return (
            cls.objects.select_related("region", "identity")
            .filter(token_hash=hash_token(token))
            .first()
        )

    def token(self) -> str:
        """The plain token, readable only until the mail has been sent or has failed."""
        return encryption.decrypt(self.token_encrypted) if self.token_encrypted else ""

    @property
    def needs_sending(self) -> bool:
        return self.superseded_at is None and self.used_at is None and bool(self.token_encrypted)

    # --- the mail --------------------------------------------------------------------------
    def claim_for_sending(self, now: datetime) -> bool:
        """QUEUED (or SENDING by a worker that died) → SENDING, for one worker only."""
        claimed = (
            VerificationLink.objects.filter(
                pk=self.pk, superseded_at__isnull=True, used_at__isnull=True
            )
            .filter(
                Q(mail_status=MailStatus.QUEUED)
                | Q(mail_status=MailStatus.SENDING, claimed_at__lt=now - SENDING_LEASE)
            )
            .update(
                mail_status=MailStatus.SENDING, claimed_at=now, attempts=models.F("attempts") + 1
            )
        )
        if claimed:
            self.refresh_from_db(fields=["mail_status", "claimed_at", "attempts"])
        return bool(claimed)

    def release(self, error: str) -> None:
        """SENDING → QUEUED after a transient failure: the task will try again."""
        VerificationLink.objects.filter(pk=self.pk, mail_status=MailStatus.SENDING).update(
            mail_status=MailStatus.QUEUED, mail_error=error
        )
        # claimed_at stays: it is when the last attempt started (see flows.requeue_stalled).
        self.mail_status, self.mail_error = MailStatus.QUEUED, error

    def mark_sent(self, now: datetime) -> None:
        """The 24 hours start now, when the mail left (SES: "expires 24 hours after the
        message was sent"). The plain token is no longer needed."""
        self.mail_status = MailStatus.SENT
        self.sent_at = now
        self.expires_at = now + LINK_LIFETIME
        self.mail_error = ""
        self.token_encrypted = ""
        self.save(
            update_fields=["mail_status", "sent_at", "expires_at", "mail_error", "token_encrypted"]
        )

    def mark_failed(self, error: str) -> None:
        self.mail_status = MailStatus.FAILED
        self.mail_error = error[:2000]
        self.token_encrypted = ""
        self.save(update_fields=["mail_status", "mail_error", "token_encrypted"])

    # --- the click -------------------------------------------------------------------------
    def consume(self, now: datetime) -> LinkOutcome:
        """Use the link once. Guarded by a conditional UPDATE, so two simultaneous clicks
        verify once; the second sees ALREADY_USED."""
        if self.used_at is not None:
            return LinkOutcome.ALREADY_USED
        if self.superseded_at is not None:
            return LinkOutcome.SUPERSEDED
        if now >= self.expires_at:
            return LinkOutcome.EXPIRED
        used = VerificationLink.objects.filter(
            pk=self.pk, used_at__isnull=True, superseded_at__isnull=True, expires_at__gt=now
        ).update(used_at=now, token_encrypted="")
        if not used:
            self.refresh_from_db()
            return self.consume(now)
        self.used_at = now
        return LinkOutcome.VERIFIED

    @property
    def status_line(self) -> str:
        """What the identity page says about the mail."""
        if self.mail_status == MailStatus.SENT and self.sent_at:
            return f"Verification email sent at {self.sent_at:%Y-%m-%d %H:%M} UTC."
        if self.mail_status == MailStatus.FAILED:
            return f"The verification email could not be sent: {self.mail_error}"
        if self.mail_error:
            return f"Sending the verification email… (retrying: {self.mail_error})"
        return "Sending the verification email…"
