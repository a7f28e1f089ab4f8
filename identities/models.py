"""Verified identities and what hangs off them: DKIM keys, tags, policies, DNS check results.

Status values are the SES API enums; labels are the console's words. Every status change is
a verb-named method that sets all related fields together and saves with update_fields, so the
console, the API, admin actions and Celery tasks share one path to each transition.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Region
from sesconsole import encryption

KEY_LENGTH_CHANGE_INTERVAL = timedelta(hours=24)


class IdentityType(models.TextChoices):
    EMAIL_ADDRESS = "EMAIL_ADDRESS", "Email address"
    DOMAIN = "DOMAIN", "Domain"


class VerificationStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCESS = "SUCCESS", "Verified"
    FAILED = "FAILED", "Failed"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE", "Temporary failure"
    NOT_STARTED = "NOT_STARTED", "Not started"


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


class BehaviorOnMxFailure(models.TextChoices):
    USE_DEFAULT_VALUE = "USE_DEFAULT_VALUE", "Use default MAIL FROM domain"
    REJECT_MESSAGE = "REJECT_MESSAGE", "Reject message"


class VerificationError(models.TextChoices):
    SERVICE_ERROR = "SERVICE_ERROR", "Service error"
    DNS_SERVER_ERROR = "DNS_SERVER_ERROR", "DNS server error"
    HOST_NOT_FOUND = "HOST_NOT_FOUND", "Host not found"
    TYPE_NOT_FOUND = "TYPE_NOT_FOUND", "Record type not found"
    INVALID_VALUE = "INVALID_VALUE", "Invalid value"


def new_dkim_token() -> str:
    """A 32-character lower-case base32 token, the shape of SES's Easy DKIM tokens."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


class ConfigurationSet(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="configuration_sets"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64)
    sending_enabled = models.BooleanField(default=True)
    # The rest of SES's options (tracking, delivery, reputation, suppression, VDM, archiving)
    # are kept as the API sent them, so GetConfigurationSet can answer faithfully.
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "name"], name="unique_configuration_set_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:ses:{self.region_id}:{self.account_id}:configuration-set/{self.name}"

    def identities_using_as_default(self) -> models.QuerySet[Identity]:
        return Identity.objects.filter(
            account_id=self.account_id, region_id=self.region_id, configuration_set_name=self.name
        )


class IdentityQuerySet(models.QuerySet["Identity"]):
    def in_scope(self, account: Account, region: Region | str) -> IdentityQuerySet:
        region_id = region if isinstance(region, str) else region.code
        return self.filter(account=account, region_id=region_id)

    def domains(self) -> IdentityQuerySet:
        return self.filter(identity_type=IdentityType.DOMAIN)

    def verified(self) -> IdentityQuerySet:
        return self.filter(verification_status=VerificationStatus.SUCCESS)

    def due_for_dns_check(self, now: datetime) -> IdentityQuerySet:
        return (
            self.domains()
            .filter(next_check_at__lte=now)
            .filter(Q(check_lease_until__isnull=True) | Q(check_lease_until__lt=now))
        )


class Identity(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="identities")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    identity_type = models.CharField(max_length=16, choices=IdentityType.choices)
    # Domains: IDNA, lower-cased (so the unique constraint is case-insensitive for them).
    # Email addresses: exactly as entered, because SES treats them as case-sensitive.
    name = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    verification_status = models.CharField(
        max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.PENDING
    )
    verification_status_changed_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    # VerificationInfo, as GetEmailIdentity reports it.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    verification_error = models.CharField(
        max_length=32, choices=VerificationError.choices, blank=True
    )
    soa_primary_name_server = models.CharField(max_length=255, blank=True)
    soa_admin_email = models.CharField(max_length=255, blank=True)
    soa_serial_number = models.BigIntegerField(null=True, blank=True)

    # DKIM
    dkim_origin = models.CharField(
        max_length=16, choices=DkimOrigin.choices, default=DkimOrigin.AWS_SES
    )
    dkim_signing_enabled = models.BooleanField(default=True)
    dkim_status = models.CharField(
        max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.NOT_STARTED
    )
    dkim_status_changed_at = models.DateTimeField(default=timezone.now)
    dkim_tokens = models.JSONField(default=list, blank=True)  # Easy DKIM tokens or [selector]
    dkim_next_key_length = models.CharField(
        max_length=16, choices=KeyLength.choices, default=KeyLength.RSA_2048_BIT
    )
    dkim_current_key_length = models.CharField(max_length=16, choices=KeyLength.choices, blank=True)
    dkim_last_key_generation_at = models.DateTimeField(null=True, blank=True)
    dkim_key_length_changed_at = models.DateTimeField(null=True, blank=True)

    # Custom MAIL FROM (empty domain: not configured)
    mail_from_domain = models.CharField(max_length=255, blank=True)
    mail_from_behavior = models.CharField(
        max_length=20,
        choices=BehaviorOnMxFailure.choices,
        default=BehaviorOnMxFailure.USE_DEFAULT_VALUE,
    )
    mail_from_status = models.CharField(max_length=20, choices=MailFromStatus.choices, blank=True)
    mail_from_status_changed_at = models.DateTimeField(null=True, blank=True)

    feedback_forwarding_enabled = models.BooleanField(default=True)
    # By name, as SES keeps it: deleting the set leaves a dangling default (sends then fail).
    configuration_set_name = models.CharField(max_length=64, blank=True, db_index=True)

    # DNS check scheduling: the sweep claims rows by setting a lease (see identities.dns_check).
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_lease_until = models.DateTimeField(null=True, blank=True)
    check_count = models.PositiveIntegerField(default=0)

    objects = IdentityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "identities"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "name"], name="unique_identity_per_account_region"
            )
        ]
        indexes = [
            models.Index(fields=["account", "region", "verification_status"]),
            models.Index(fields=["account", "region", "identity_type"]),
            models.Index(fields=["next_check_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    # --- derived ---------------------------------------------------------------------------
    @property
    def is_domain(self) -> bool:
        return self.identity_type == IdentityType.DOMAIN

    @property
    def arn(self) -> str:
        return f"arn:aws:ses:{self.region_id}:{self.account_id}:identity/{self.name}"

    @property
    def domain(self) -> str:
        """The domain part: the identity itself for a domain, after @ for an address."""
        return self.name if self.is_domain else self.name.rpartition("@")[2].lower()

    @property
    def verified_for_sending(self) -> bool:
        return self.verification_status == VerificationStatus.SUCCESS

    @property
    def uses_byodkim(self) -> bool:
        return self.dkim_origin == DkimOrigin.EXTERNAL

    @property
    def has_custom_mail_from(self) -> bool:
        return bool(self.mail_from_domain)

    # --- DKIM ------------------------------------------------------------------------------
    def start_easy_dkim(self, key_length: str, now: datetime | None = None) -> None:
        """Fresh tokens, DKIM pending; the RSA keys are generated by a Celery task."""
        now = now or timezone.now()
        self.dkim_origin = DkimOrigin.AWS_SES
        self.dkim_tokens = [new_dkim_token() for _ in range(3)]
        self.dkim_next_key_length = key_length
        self._set_dkim_status(VerificationStatus.PENDING, now, restart=True)

    def start_byodkim(self, selector: str, now: datetime | None = None) -> None:
        now = now or timezone.now()
        self.dkim_origin = DkimOrigin.EXTERNAL
        self.dkim_tokens = [selector]
        self._set_dkim_status(VerificationStatus.PENDING, now, restart=True)

    def _set_dkim_status(self, status: str, now: datetime, restart: bool = False) -> None:
        # restart: a new DKIM setup (fresh tokens or selector) starts SES's 72-hour search
        # window again, even when the status was already PENDING.
        if self.dkim_status != status or restart:
            self.dkim_status = status
            self.dkim_status_changed_at = now
        if self.is_domain:
            # A domain identity is verified through its DKIM records (SES v2).
            self._set_verification_status(status, now, restart=restart)

    def _set_verification_status(self, status: str, now: datetime, restart: bool = False) -> None:
        if self.verification_status != status or restart:
            self.verification_status = status
            self.verification_status_changed_at = now
        if status == VerificationStatus.SUCCESS and self.verified_at is None:
            self.verified_at = now

    def record_easy_dkim_keys(self, key_length: str, now: datetime | None = None) -> None:
        """Called once the three key pairs exist: they become the current signing keys."""
        now = now or timezone.now()
        self.dkim_current_key_length = key_length
        self.dkim_last_key_generation_at = now
        self.save(update_fields=["dkim_current_key_length", "dkim_last_key_generation_at"])

    def set_dkim_signing(self, enabled: bool) -> None:
        self.dkim_signing_enabled = enabled
        self.save(update_fields=["dkim_signing_enabled"])

    def key_length_change_problem(self, new_length: str, now: datetime) -> str | None:
        """SES's rule: no switch to the length in use; at most one change per 24 hours,
        except that the first downgrade to 1024 bits in that window is always allowed."""
        current = self.dkim_current_key_length or self.dkim_next_key_length
        if new_length == current and new_length == self.dkim_next_key_length:
            return f"The DKIM signing key already uses {new_length}. Choose the other length."
        recent = (
            self.dkim_key_length_changed_at
            and now - self.dkim_key_length_changed_at < KEY_LENGTH_CHANGE_INTERVAL
        )
        is_downgrade = new_length == KeyLength.RSA_1024_BIT
        if recent and not (is_downgrade and self.dkim_next_key_length != KeyLength.RSA_1024_BIT):
            assert self.dkim_key_length_changed_at is not None
            allowed_at = self.dkim_key_length_changed_at + KEY_LENGTH_CHANGE_INTERVAL
            return (
                "The DKIM signing key length can be changed once every 24 hours. You can "
                f"change it again after {allowed_at:%Y-%m-%d %H:%M} UTC."
            )
        return None

    def change_easy_dkim_key_length(self, new_length: str, now: datetime | None = None) -> None:
        """Rotate Easy DKIM to another key length. DKIM goes back to PENDING (SES does this)
        but the identity's verification for sending is kept."""
        now = now or timezone.now()
        if self.uses_byodkim:
            raise ValidationError("The key length applies to Easy DKIM only.", code="invalid")
        problem = self.key_length_change_problem(new_length, now)
        if problem:
            raise ValidationError(problem, code="key_length_rule")
        self.dkim_next_key_length = new_length
        self.dkim_key_length_changed_at = now
        if self.dkim_status != VerificationStatus.PENDING:
            self.dkim_status = VerificationStatus.PENDING
            self.dkim_status_changed_at = now
        self.save(
            update_fields=[
                "dkim_next_key_length",
                "dkim_key_length_changed_at",
                "dkim_status",
                "dkim_status_changed_at",
            ]
        )

    DKIM_FIELDS = (
        "dkim_origin",
        "dkim_tokens",
        "dkim_next_key_length",
        "dkim_status",
        "dkim_status_changed_at",
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
    )

    def switch_to_easy_dkim(self, key_length: str, now: datetime | None = None) -> None:
        self.dkim_keys.all().delete()
        self.start_easy_dkim(key_length, now)
        self.dkim_current_key_length = ""
        self.save(update_fields=[*self.DKIM_FIELDS, "dkim_current_key_length"])

    def switch_to_byodkim(
        self,
        selector: str,
        private_key_base64: str,
        public_key_base64: str,
        key_size: int,
        now: datetime | None = None,
    ) -> None:
        self.dkim_keys.all().delete()
        DkimKey.store(self, selector, private_key_base64, public_key_base64, key_size)
        self.start_byodkim(selector, now)
        self.dkim_current_key_length = (
            KeyLength.RSA_1024_BIT if key_size <= 1024 else KeyLength.RSA_2048_BIT
        )
        self.save(update_fields=[*self.DKIM_FIELDS, "dkim_current_key_length"])

    # --- verification ----------------------------------------------------------------------
    def mark_verified(self, now: datetime | None = None) -> None:
        now = now or timezone.now()
        self._set_verification_status(VerificationStatus.SUCCESS, now)
        self.last_success_at = now
        self.save(
            update_fields=[
                "verification_status",
                "verification_status_changed_at",
                "verified_at",
                "last_success_at",
            ]
        )

    def mark_failed(self, now: datetime | None = None) -> bool:
        """PENDING → FAILED (no verification within the window). False if not pending."""
        if self.verification_status != VerificationStatus.PENDING:
            return False
        self._set_verification_status(VerificationStatus.FAILED, now or timezone.now())
        self.save(update_fields=["verification_status", "verification_status_changed_at"])
        return True

    def mark_pending(self, now: datetime | None = None) -> bool:
        """FAILED / NOT_STARTED → PENDING (verification restarted, e.g. Resend). False if not."""
        if self.verification_status not in (
            VerificationStatus.FAILED,
            VerificationStatus.NOT_STARTED,
        ):
            return False
        self._set_verification_status(VerificationStatus.PENDING, now or timezone.now())
        self.save(update_fields=["verification_status", "verification_status_changed_at"])
        return True

    # --- MAIL FROM, configuration set, feedback ---------------------------------------------
    def set_mail_from(self, domain: str, behavior: str, now: datetime | None = None) -> None:
        now = now or timezone.now()
        changed = domain != self.mail_from_domain
        self.mail_from_domain = domain
        self.mail_from_behavior = behavior
        if changed:
            self.mail_from_status = MailFromStatus.PENDING
            self.mail_from_status_changed_at = now
        self.save(
            update_fields=[
                "mail_from_domain",
                "mail_from_behavior",
                "mail_from_status",
                "mail_from_status_changed_at",
            ]
        )

    def clear_mail_from(self) -> None:
        self.mail_from_domain = ""
        self.mail_from_status = ""
        self.mail_from_status_changed_at = None
        self.mail_from_behavior = BehaviorOnMxFailure.USE_DEFAULT_VALUE
        self.save(
            update_fields=[
                "mail_from_domain",
                "mail_from_status",
                "mail_from_status_changed_at",
                "mail_from_behavior",
            ]
        )

    def set_configuration_set(self, name: str) -> None:
        self.configuration_set_name = name
        self.save(update_fields=["configuration_set_name"])

    def set_feedback_forwarding(self, enabled: bool) -> None:
        self.feedback_forwarding_enabled = enabled
        self.save(update_fields=["feedback_forwarding_enabled"])

    def schedule_dns_check(self, at: datetime | None = None) -> None:
        """Ask the sweep to look at this identity at `at` (now by default)."""
        self.next_check_at = at or timezone.now()
        self.save(update_fields=["next_check_at"])


class DkimKey(models.Model):
    """An RSA signing key: one per Easy DKIM token, or the pasted BYODKIM key."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="dkim_keys")
    selector = models.CharField(max_length=63)  # the Easy DKIM token or the BYODKIM selector
    key_size = models.PositiveSmallIntegerField()
    private_key_encrypted = models.TextField(editable=False)
    public_key = models.TextField(help_text="Base64 DER SubjectPublicKeyInfo: the DKIM p= value.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity", "selector"], name="unique_dkim_selector")
        ]

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.identity.domain}"

    @classmethod
    def store(
        cls,
        identity: Identity,
        selector: str,
        private_key_base64: str,
        public_key_base64: str,
        key_size: int,
    ) -> DkimKey:
        return cls.objects.create(
            identity=identity,
            selector=selector,
            key_size=key_size,
            private_key_encrypted=encryption.encrypt(private_key_base64),
            public_key=public_key_base64,
        )

    def private_key_base64(self) -> str:
        return encryption.decrypt(self.private_key_encrypted)

    @property
    def txt_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"


class Tag(models.Model):
    """A tag on an identity, configuration set or custom verification template."""

    identity = models.ForeignKey(
        Identity, null=True, blank=True, on_delete=models.CASCADE, related_name="tags"
    )
    configuration_set = models.ForeignKey(
        ConfigurationSet, null=True, blank=True, on_delete=models.CASCADE, related_name="tags"
    )
    template = models.ForeignKey(
        "templates_app.CustomVerificationEmailTemplate",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tags",
    )
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(identity__isnull=False, configuration_set__isnull=True, template__isnull=True)
                    | Q(
                        identity__isnull=True,
                        configuration_set__isnull=False,
                        template__isnull=True,
                    )
                    | Q(
                        identity__isnull=True,
                        configuration_set__isnull=True,
                        template__isnull=False,
                    )
                ),
                name="tag_has_exactly_one_resource",
            ),
            models.UniqueConstraint(fields=["identity", "key"], name="unique_identity_tag_key"),
            models.UniqueConstraint(
                fields=["configuration_set", "key"], name="unique_configuration_set_tag_key"
            ),
            models.UniqueConstraint(fields=["template", "key"], name="unique_template_tag_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class IdentityPolicy(models.Model):
    """A sending authorization policy (JSON document) attached to an identity."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=64)
    document = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "identity policies"
        constraints = [
            models.UniqueConstraint(fields=["identity", "name"], name="unique_identity_policy_name")
        ]

    def __str__(self) -> str:
        return self.name


class RecordCheck(models.Model):
    """The last DNS check of one expected record of an identity, with a diagnosis."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="record_checks")
    purpose = models.CharField(max_length=16)
    name = models.CharField(max_length=255)
    record_type = models.CharField(max_length=8)
    status = models.CharField(max_length=20, choices=VerificationStatus.choices)
    error = models.CharField(max_length=32, choices=VerificationError.choices, blank=True)
    found = models.JSONField(default=list, blank=True)
    diagnosis = models.CharField(max_length=40, blank=True)
    hint = models.TextField(blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["purpose", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "purpose", "name", "record_type"], name="unique_record_check"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.name}: {self.status}"


class IdentityEvent(models.Model):
    """The identity's history as users see it on its page."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40)
    message = models.TextField()
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"

    @classmethod
    def record(cls, identity: Identity, kind: str, message: str, actor: str = "") -> IdentityEvent:
        return cls.objects.create(identity=identity, kind=kind, message=message, actor=actor)


class DnsServer(models.Model):
    """An authoritative server an account lets sesconsole update by RFC 2136 (TSIG)."""

    class Algorithm(models.TextChoices):
        HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256"
        HMAC_SHA512 = "hmac-sha512", "HMAC-SHA512"
        HMAC_SHA1 = "hmac-sha1", "HMAC-SHA1"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dns_servers")
    zone = models.CharField(max_length=253)
    server = models.CharField(max_length=255, help_text="Host name or IP address.")
    port = models.PositiveIntegerField(default=53)
    key_name = models.CharField(max_length=253)
    key_algorithm = models.CharField(
        max_length=16, choices=Algorithm.choices, default=Algorithm.HMAC_SHA256
    )
    key_secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["zone"]
        verbose_name = "DNS server"
        constraints = [
            models.UniqueConstraint(fields=["account", "zone"], name="unique_dns_server_zone")
        ]

    def __str__(self) -> str:
        return f"{self.zone} @ {self.server}:{self.port}"

    def set_secret(self, secret: str) -> None:
        self.key_secret_encrypted = encryption.encrypt(secret)

    def secret(self) -> str:
        return encryption.decrypt(self.key_secret_encrypted)
