"""The identity: a domain or an email address, with its SES state and transitions.

Status values are the SES API enums; labels are the console's words. Every status change is
a verb-named method that sets all related fields together and saves with update_fields, so the
console, the API, admin actions and Celery tasks share one path to each transition.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts import actors
from accounts.models import Account, Region

from .choices import (
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
    next_setup_status,
)
from .dkim_keys import DkimKey
from .history import IdentityEvent
from .legacy import LegacyVerification
from .notifications import IdentityNotifications
from .replica import DeedReplica

if TYPE_CHECKING:
    pass


class IdentityQuerySet(models.QuerySet["Identity"]):
    def in_scope(self, account: Account, region: Region | str) -> IdentityQuerySet:
        region_id = region if isinstance(region, str) else region.code
        return self.filter(account=account, region_id=region_id)

    def domains(self) -> IdentityQuerySet:
        return self.filter(identity_type=IdentityType.DOMAIN)

    def verified(self) -> IdentityQuerySet:
        return self.filter(verification_status=VerificationStatus.SUCCESS)

    def dns_checked(self) -> IdentityQuerySet:
        """What the DNS check looks at: domains, and email addresses with a custom MAIL FROM
        domain (its MX record; an address's DKIM is its domain's)."""
        return self.filter(Q(identity_type=IdentityType.DOMAIN) | ~Q(mail_from_domain=""))

    def due_for_dns_check(self, now: datetime) -> IdentityQuerySet:
        return (
            self.dns_checked()
            .filter(next_check_at__lte=now)
            .filter(Q(check_lease_until__isnull=True) | Q(check_lease_until__lt=now))
        )

    def soa_due(self, now: datetime) -> IdentityQuerySet:
        """Domains with no zone SOA recorded yet, or one older than SOA_MAX_AGE."""
        return self.domains().filter(
            Q(soa_checked_at__isnull=True) | Q(soa_checked_at__lte=now - SOA_MAX_AGE)
        )


class Identity(LegacyVerification, DeedReplica, IdentityNotifications):
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
        max_length=48, choices=VerificationError.choices, blank=True
    )
    soa_primary_name_server = models.CharField(max_length=255, blank=True)
    soa_admin_email = models.CharField(max_length=255, blank=True)
    soa_serial_number = models.BigIntegerField(null=True, blank=True)
    soa_checked_at = models.DateTimeField(null=True, blank=True)

    # DKIM
    # AWS_SES, EXTERNAL, or AWS_SES_<REGION> for a DEED replica (`DeedReplica.dkim_parent`).
    dkim_origin = models.CharField(
        max_length=32, choices=DkimOrigin.choices, default=DkimOrigin.AWS_SES
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
    def verified_without_dns(self) -> bool:
        """Verified by `verify_without_dns` and not checked since: a DNS check always schedules
        the next one while a setup is verified, only `verify_without_dns` stops them. Record
        rows then say "not checked" instead of showing a stale check result."""
        return (
            self.is_domain
            and self.dkim_status == VerificationStatus.SUCCESS
            and self.next_check_at is None
        )

    @property
    def arn(self) -> str:
        return f"arn:aws:ses:{self.region_id}:{self.account_id}:identity/{self.name}"

    @property
    def domain(self) -> str:
        """The domain part: the identity itself for a domain, after @ for an address."""
        return self.name if self.is_domain else self.name.rpartition("@")[2].lower()

    @property
    def verified_for_sending(self) -> bool:
        """SES's "can send" flag (VerifiedForSendingStatus): see SENDABLE_STATUSES."""
        return self.verification_status in SENDABLE_STATUSES

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
        self.dkim_parent = None  # a DEED replica given its own DKIM stops following
        self.dkim_tokens = [new_dkim_token() for _ in range(3)]
        self.dkim_next_key_length = key_length
        self._set_dkim_status(VerificationStatus.PENDING, now, restart=True)

    def start_byodkim(self, selector: str, now: datetime | None = None) -> None:
        now = now or timezone.now()
        self.dkim_origin = DkimOrigin.EXTERNAL
        self.dkim_parent = None
        self.dkim_tokens = [selector]
        self._set_dkim_status(VerificationStatus.PENDING, now, restart=True)

    def _set_dkim_status(self, status: str, now: datetime, restart: bool = False) -> None:
        # restart: a new DKIM setup (fresh tokens or selector) starts SES's 72-hour search
        # window again, even when the status was already PENDING.
        if self.dkim_status != status or restart:
            self.dkim_status = status
            self.dkim_status_changed_at = now
        if restart and self.is_domain:
            self._restart_checks(now)
        if self.is_domain:
            # A domain identity is verified through its DKIM records (SES v2), or its legacy
            # TXT record (SES v1), whichever verifies (`_domain_status`).
            self._set_verification_status(
                self._domain_status(), now, restart=restart and not self.legacy_txt_status
            )

    # Which status a domain shows when DKIM and the legacy TXT record disagree: the best one.
    _STATUS_PRECEDENCE = ("SUCCESS", "TEMPORARY_FAILURE", "PENDING", "FAILED", "NOT_STARTED")

    def _domain_status(self) -> str:
        """A domain is verified when either DKIM or the legacy `_amazonses` TXT record is
        (SES: "the domain can send once either verifies"); without legacy verification, DKIM
        alone decides."""
        if not self.legacy_txt_status:
            return self.dkim_status
        statuses = {self.dkim_status, self.legacy_txt_status}
        return next(s for s in self._STATUS_PRECEDENCE if s in statuses)

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
        self._restart_checks(now)
        self.save(
            update_fields=[
                "dkim_next_key_length",
                "dkim_key_length_changed_at",
                "dkim_status",
                "dkim_status_changed_at",
                "next_check_at",
                "check_count",
            ]
        )

    DKIM_FIELDS = (
        "dkim_origin",
        "dkim_parent",
        "dkim_tokens",
        "dkim_next_key_length",
        "dkim_status",
        "dkim_status_changed_at",
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
        "next_check_at",
        "check_count",
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
        self.dkim_current_key_length = KeyLength.for_key_size(key_size)
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
            self._restart_checks(now)  # an email address's MAIL FROM is checked in DNS too
        self.save(
            update_fields=[
                "mail_from_domain",
                "mail_from_behavior",
                "mail_from_status",
                "mail_from_status_changed_at",
                "next_check_at",
                "check_count",
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

    # --- DNS check state machine (identities.dns_check resolves; these decide) -----------------
    # Every field a DNS check may change: the sweep writes what changed among these for a
    # whole chunk at once (dns_check._write_changes).
    CHECK_FIELDS = (
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
        "last_checked_at",
        "last_success_at",
        "verification_error",
        "soa_primary_name_server",
        "soa_admin_email",
        "soa_serial_number",
        "soa_checked_at",
        "dkim_status",
        "dkim_status_changed_at",
        "legacy_txt_status",
        "legacy_txt_status_changed_at",
        "mail_from_status",
        "mail_from_status_changed_at",
        "next_check_at",
        "check_lease_until",
        "check_count",
    )

    def _restart_checks(self, now: datetime) -> None:
        # A new setup is checked at once, with the pending back-off from its first step.
        self.next_check_at = now
        self.check_count = 0

    def _status_event(self, what: str, old: str, new: str, now: datetime) -> IdentityEvent:
        def label(value: str) -> str:
            return VerificationStatus(value).label if value else "Not started"

        message = f"{what} status changed from {label(old)} to {label(new)}."
        # The DNS check's own moves; request_check_now sets the user who asked instead.
        actor = actors.system("DNS check")
        return IdentityEvent(identity=self, at=now, kind="status", message=message, actor=actor)

    def apply_dkim_check(self, outcome: str | None, now: datetime) -> list[IdentityEvent]:
        """Move DKIM (and, for a domain, the identity with it) by one check's outcome (None:
        a DEED replica, whose DKIM follows its parent instead). Returns the unsaved history
        events; `apply_dns_check` saves everything together."""
        if outcome is None:
            return []
        new = next_setup_status(self.dkim_status, self.dkim_status_changed_at, outcome, now)
        if new is None:
            return []
        old_dkim, old_identity = self.dkim_status, self.verification_status
        self._set_dkim_status(new, now)
        self.check_count = 0
        events = [self._status_event("DKIM", old_dkim, new, now)]
        if self.verification_status != old_identity:
            events.append(
                self._status_event("Identity", old_identity, self.verification_status, now)
            )
        return events

    def apply_mail_from_check(self, outcome: str | None, now: datetime) -> list[IdentityEvent]:
        """Move the custom MAIL FROM status by one check's outcome (None: not configured)."""
        if outcome is None or not self.mail_from_domain:
            return []
        since = self.mail_from_status_changed_at or self.created_at
        new = next_setup_status(self.mail_from_status, since, outcome, now)
        if new is None:
            return []
        old = self.mail_from_status
        self.mail_from_status = new
        self.mail_from_status_changed_at = now
        self.check_count = 0
        return [self._status_event("MAIL FROM", old, new, now)]

    def next_check_time(self, now: datetime, *, dns_error: bool = False) -> datetime | None:
        """When the sweep should look again: soon after a DNS error, backing off while a setup
        is pending (never past its 72-hour deadline), daily once verified, never once FAILED."""
        if dns_error:
            return now + DNS_ERROR_RETRY
        own_dkim = self.is_domain and not self.is_replica  # a replica's DKIM follows its parent
        setups = [(self.dkim_status, self.dkim_status_changed_at)] if own_dkim else []
        if self.is_domain and self.legacy_txt_status:
            setups.append(
                (self.legacy_txt_status, self.legacy_txt_status_changed_at or self.created_at)
            )
        if self.mail_from_domain:
            setups.append(
                (self.mail_from_status, self.mail_from_status_changed_at or self.created_at)
            )
        waiting = [since for status, since in setups if status in ("PENDING", "TEMPORARY_FAILURE")]
        if waiting:
            step = PENDING_BACKOFF[min(max(self.check_count - 1, 0), len(PENDING_BACKOFF) - 1)]
            deadline = min(since for since in waiting) + VERIFICATION_WINDOW
            return max(min(now + step, deadline), now)
        if any(status == "SUCCESS" for status, _ in setups):
            return now + VERIFIED_RECHECK
        return None

    def soa_is_due(self, now: datetime) -> bool:
        """In memory, what `IdentityQuerySet.soa_due` selects."""
        if not self.is_domain:
            return False
        return self.soa_checked_at is None or now - self.soa_checked_at >= SOA_MAX_AGE

    def apply_dns_check(
        self,
        *,
        dkim: str | None,
        mail_from: str | None,
        txt: str | None = None,
        error: str,
        soa: tuple[str, str, int] | None,
        now: datetime,
        save: bool = True,
    ) -> list[IdentityEvent]:
        """Record one DNS check of a domain identity, or of an email address's custom MAIL FROM.

        1. Move DKIM (and the identity, which SES v2 verifies through DKIM) and MAIL FROM.
        2. Keep VerificationInfo: last checked, last success, the DKIM error type, the SOA
           when the check saw one (None leaves the recorded SOA as it is).
        3. Schedule the next check with back-off and release the sweep's lease.
        4. save=True saves with update_fields and the history events; the sweep passes
           save=False and writes a whole chunk with one bulk_update (CHECK_FIELDS).
        An email address moves its MAIL FROM alone (steps 1 and 3): its DKIM is its domain's
        and it is verified by mail, so `dkim`, `error` and `soa` do not apply to it.
        """
        if self.is_domain:
            events = (
                self.apply_dkim_check(dkim, now)
                + self.apply_txt_check(txt, now)
                + self.apply_mail_from_check(mail_from, now)
            )
            self.last_checked_at = now
            if CheckOutcome.FOUND in (dkim, txt):
                self.last_success_at = now
            if not self.is_replica:  # a replica keeps its REPLICATION_* error, if any
                self.verification_error = error
            if soa is not None:
                self.soa_primary_name_server, self.soa_admin_email, self.soa_serial_number = soa
                self.soa_checked_at = now
            outcomes: tuple[str | None, ...] = (dkim, txt, mail_from)
        else:
            events = self.apply_mail_from_check(mail_from, now)
            outcomes = (mail_from,)
        self.check_count += 1
        dns_error = CheckOutcome.DNS_ERROR in outcomes
        self.next_check_at = self.next_check_time(now, dns_error=dns_error)
        self.check_lease_until = None
        if save:
            self.save(update_fields=list(self.CHECK_FIELDS))
            IdentityEvent.objects.bulk_create(events)
        return events

    def request_check_now(self, now: datetime | None = None, actor: str = "") -> bool:
        """Check now: due at once; a FAILED setup is restarted to PENDING with a fresh 72-hour
        window (SES: "stops checking; setup must be restarted" — this button restarts it).
        False for an email address without a custom MAIL FROM: DNS has nothing to check."""
        if not self.is_domain and not self.mail_from_domain:
            return False
        now = now or timezone.now()
        events: list[IdentityEvent] = []
        if self.is_domain and self.dkim_status == VerificationStatus.FAILED:
            old_identity = self.verification_status
            self._set_dkim_status(VerificationStatus.PENDING, now)
            events.append(self._status_event("DKIM", "FAILED", "PENDING", now))
            if old_identity != self.verification_status:
                events.append(
                    self._status_event("Identity", old_identity, self.verification_status, now)
                )
        if self.is_domain and self.legacy_txt_status == VerificationStatus.FAILED:
            old_identity = self.verification_status
            self.legacy_txt_status = VerificationStatus.PENDING
            self.legacy_txt_status_changed_at = now
            self._set_verification_status(self._domain_status(), now)
            events.append(self._status_event("Verification TXT record", "FAILED", "PENDING", now))
            if old_identity != self.verification_status:
                events.append(
                    self._status_event("Identity", old_identity, self.verification_status, now)
                )
        if self.mail_from_domain and self.mail_from_status == MailFromStatus.FAILED:
            self.mail_from_status = MailFromStatus.PENDING
            self.mail_from_status_changed_at = now
            events.append(self._status_event("MAIL FROM", "FAILED", "PENDING", now))
        self._restart_checks(now)
        self.save(update_fields=list(self.CHECK_FIELDS))
        for event in events:
            event.actor = actor
        IdentityEvent.objects.bulk_create(events)
        return True

    def verify_without_dns(
        self, message: str, now: datetime | None = None, actor: str = ""
    ) -> None:
        """Verified at once, without looking at DNS (DNS_AUTO_VERIFY, admin "Mark verified (skip
        DNS)"): for CI setups using sesconsole as a local SES. DNS checks stop — a check would
        find no records and take the status away — until someone uses "Check now"."""
        now = now or timezone.now()
        if self.is_domain:
            if self.legacy_txt_status:
                self.legacy_txt_status = VerificationStatus.SUCCESS
                self.legacy_txt_status_changed_at = now
            if self.dkim_tokens or not self.legacy_txt_status:
                self._set_dkim_status(VerificationStatus.SUCCESS, now)
            else:  # a v1 domain without DKIM: the TXT record verifies it
                self._set_verification_status(self._domain_status(), now)
            if self.mail_from_domain:
                self.mail_from_status = MailFromStatus.SUCCESS
                self.mail_from_status_changed_at = now
        else:
            self._set_verification_status(VerificationStatus.SUCCESS, now)
        self.last_success_at = now
        self.verification_error = ""
        self.next_check_at = None
        self.check_lease_until = None
        self.save(update_fields=list(self.CHECK_FIELDS))
        IdentityEvent.objects.create(
            identity=self, at=now, kind="status", message=message, actor=actor
        )
