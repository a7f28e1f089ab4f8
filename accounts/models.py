"""Tenants (accounts), their members, the SES regions, per-region sending state and API keys."""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator, validate_email
from django.db import models, transaction
from django.utils import timezone

from sesconsole import encryption

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

account_id_validator = RegexValidator(r"^\d{12}\Z", "An account ID is exactly 12 digits.")


class Region(models.Model):
    """An SES region. The list is seeded by a migration; operators can disable regions."""

    code = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=64)
    # Cape Town, Osaka and Milan publish Easy DKIM keys under a region-specific zone.
    dkim_signing_zone = models.CharField(
        max_length=253, blank=True, help_text="Leave blank to use SIGNING_HOSTED_ZONE."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def signing_hosted_zone(self) -> str:
        return self.dkim_signing_zone or settings.SIGNING_HOSTED_ZONE


def new_account_id() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(12))


class Account(models.Model):
    """A tenant, like an AWS account. Every identity, set and template belongs to one."""

    id = models.CharField(
        primary_key=True, max_length=12, default=new_account_id, validators=[account_id_validator]
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def region_settings(self, region: Region) -> AccountRegion:
        settings_row, _ = AccountRegion.objects.get_or_create(account=self, region=region)
        return settings_row

    def lock(self) -> None:
        """Make this account's limited writes (creating templates, sending custom verification
        mails, publishing runs) wait for each other until the transaction ends, so a limit check
        and the write it guards are one step. Call it inside transaction.atomic(). (Identity
        creates queue on their IdentityCount row instead: identities.provisioning.)

        A no-key row lock (PostgreSQL's FOR NO KEY UPDATE), the weakest two such writes
        conflict on: inserts elsewhere that reference the account take only FOR KEY SHARE for
        their foreign key check, which it leaves alone. SQLite (development only) has no row
        locks; Django leaves the clause out there."""
        Account.objects.select_for_update(no_key=True).filter(pk=self.pk).values_list(
            "pk", flat=True
        ).first()


class Membership(models.Model):
    """A user's seat in an account. A user belongs to one account, as an IAM user does."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    def __str__(self) -> str:
        return f"{self.user} in {self.account}"


def account_for_user(user: AbstractBaseUser | AnonymousUser) -> Account | None:
    """The account a signed-in user works in, or None (staff without a seat, anonymous)."""
    if not user.is_authenticated:
        return None
    # Usually loaded with the user already (accounts.backends); otherwise one query here.
    try:
        membership: Membership = user.membership  # type: ignore[attr-defined]
    except Membership.DoesNotExist:
        return None
    return membership.account


# --- Production access: the rules the console and the API share ----------------------------
MAX_ADDITIONAL_CONTACTS = 4  # SES PutAccountDetails: AdditionalContactEmailAddresses max 4
CONTACT_LANGUAGES = ("EN", "JA")
_http_url = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class SendQuota:
    """SES's SendQuota numbers (-1 means unlimited, as SES reports it)."""

    max_24_hour_send: float
    max_send_rate: float


# The sandbox's documented limits (AWS-recorded: 200.0 and 1.0), and a common starting
# production quota for accounts whose operator set none.
SANDBOX_QUOTA = SendQuota(max_24_hour_send=200.0, max_send_rate=1.0)
PRODUCTION_QUOTA = SendQuota(max_24_hour_send=50000.0, max_send_rate=14.0)


class ProductionAccessPending(Exception):
    """A production access request is already under review (SES: ConflictException)."""


def _choice(value: str, allowed: Iterable[str], field: str, label: str) -> str:
    if value not in allowed:
        listed = ", ".join(allowed)
        raise ValidationError({field: [f"Choose a {label}: {listed}."]}, code="invalid")
    return value


def _website_url(value: str) -> str:
    url = (value or "").strip()
    try:
        _http_url(url)
    except ValidationError:
        raise ValidationError(
            {
                "website_url": [
                    "The website URL must be an http:// or https:// address, for example "
                    "https://example.com."
                ]
            },
            code="invalid",
        ) from None
    return url


def _contacts(addresses: list[str]) -> list[str]:
    if len(addresses) > MAX_ADDITIONAL_CONTACTS:
        raise ValidationError(
            {
                "additional_contacts": [
                    f"Enter at most {MAX_ADDITIONAL_CONTACTS} additional contacts; you entered "
                    f"{len(addresses)}."
                ]
            },
            code="limit",
        )
    cleaned = [address.strip() for address in addresses]
    for address in cleaned:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                {
                    "additional_contacts": [
                        f"“{address[:100]}” is not an email address. Enter addresses such as "
                        "ops@example.com, separated by commas."
                    ]
                },
                code="invalid",
            ) from None
    return cleaned


class AccountRegion(models.Model):
    """Sending state of one account in one region: sandbox or production, and the request."""

    class ReviewStatus(models.TextChoices):
        NONE = "", "Not requested"
        PENDING = "PENDING", "Pending"
        GRANTED = "GRANTED", "Granted"
        DENIED = "DENIED", "Denied"
        FAILED = "FAILED", "Failed"

    class MailType(models.TextChoices):
        MARKETING = "MARKETING", "Marketing"
        TRANSACTIONAL = "TRANSACTIONAL", "Transactional"

    class EnforcementStatus(models.TextChoices):
        HEALTHY = "HEALTHY", "Healthy"
        PROBATION = "PROBATION", "Probation"
        SHUTDOWN = "SHUTDOWN", "Shutdown"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="regions")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    production_access_enabled = models.BooleanField(default=False)
    sending_enabled = models.BooleanField(default=True)
    enforcement_status = models.CharField(
        max_length=16, choices=EnforcementStatus.choices, default=EnforcementStatus.HEALTHY
    )
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.NONE, blank=True
    )
    review_case_id = models.CharField(max_length=64, blank=True)
    mail_type = models.CharField(max_length=16, choices=MailType.choices, blank=True)
    website_url = models.URLField(max_length=1000, blank=True)
    contact_language = models.CharField(max_length=2, blank=True)
    use_case_description = models.TextField(max_length=5000, blank=True)
    additional_contact_email_addresses = models.JSONField(default=list, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    # Production quotas, set by the operator in admin (blank: PRODUCTION_QUOTA). The sandbox
    # always has SES's fixed SANDBOX_QUOTA, whatever is set here.
    max_24_hour_send = models.FloatField(
        null=True, blank=True, help_text="Messages per 24 hours in production; -1 is unlimited."
    )
    max_send_rate = models.FloatField(
        null=True, blank=True, help_text="Messages per second in production; -1 is unlimited."
    )
    # The sending-rate token bucket (sending.quota): tokens left at `rate_tokens_at`.
    rate_tokens = models.FloatField(null=True, blank=True, editable=False)
    rate_tokens_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "region"], name="unique_account_region")
        ]
        verbose_name = "account region"

    def __str__(self) -> str:
        return f"{self.account} in {self.region_id}"

    def send_quota(self) -> SendQuota:
        """Max24HourSend and MaxSendRate in force: the sandbox's, or the production quota."""
        if not self.production_access_enabled:
            return SANDBOX_QUOTA
        return SendQuota(
            max_24_hour_send=(
                PRODUCTION_QUOTA.max_24_hour_send
                if self.max_24_hour_send is None
                else self.max_24_hour_send
            ),
            max_send_rate=(
                PRODUCTION_QUOTA.max_send_rate if self.max_send_rate is None else self.max_send_rate
            ),
        )

    def request_production_access(
        self,
        *,
        mail_type: str,
        website_url: str,
        use_case_description: str = "",
        contact_language: str = "EN",
        additional_contact_email_addresses: list[str] | None = None,
    ) -> None:
        """The one path for "Request production access" (console) and PutAccountDetails (API).

        1. Lock this row, so two requests cannot both pass the pending check.
        2. A request still under review is refused (ProductionAccessPending; the API answers
           ConflictException, the console says to wait or withdraw it).
        3. Validate: mail type, an http(s) website URL, contact language, at most
           MAX_ADDITIONAL_CONTACTS valid addresses. ValidationError({field: [messages]}).
        4. Save; a sandboxed account's request goes PENDING with a new case id.
        """
        contacts = additional_contact_email_addresses or []
        with transaction.atomic():
            locked = AccountRegion.objects.select_for_update().get(pk=self.pk)
            if locked.review_status == self.ReviewStatus.PENDING:
                raise ProductionAccessPending(
                    f"A production access request for {self.region_id} is already under review "
                    f"(case {locked.review_case_id}). Wait for the decision, or withdraw it "
                    "before sending another."
                )
            self.mail_type = _choice(mail_type, self.MailType.values, "mail_type", "mail type")
            self.website_url = _website_url(website_url)
            self.use_case_description = use_case_description[:5000]
            self.contact_language = _choice(
                contact_language, CONTACT_LANGUAGES, "contact_language", "contact language"
            )
            self.additional_contact_email_addresses = _contacts(contacts)
            self.requested_at = timezone.now()
            if not self.production_access_enabled:
                self.review_status = self.ReviewStatus.PENDING
                self.review_case_id = secrets.token_hex(8)
            self.save()

    def withdraw_production_access_request(self) -> None:
        """The account takes back its request still under review (console only: the SES API
        has no such operation). Afterwards it may send a new one."""
        updated = AccountRegion.objects.filter(
            pk=self.pk, review_status=self.ReviewStatus.PENDING
        ).update(review_status=self.ReviewStatus.NONE, review_case_id="", requested_at=None)
        if not updated:
            raise ValidationError(
                "There is no production access request under review to withdraw.",
                code="not_pending",
            )
        self.review_status, self.review_case_id, self.requested_at = "", "", None

    def grant_production_access(self) -> None:
        self.production_access_enabled = True
        self.review_status = self.ReviewStatus.GRANTED
        self.save(update_fields=["production_access_enabled", "review_status"])

    def deny_production_access(self) -> None:
        self.production_access_enabled = False
        self.review_status = self.ReviewStatus.DENIED
        self.save(update_fields=["production_access_enabled", "review_status"])


ACCESS_KEY_ALPHABET = string.ascii_uppercase + "234567"


def new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)[:40]


# How often a key's last use is written at most (AccessKey.touch).
KEY_TOUCH_INTERVAL = timedelta(seconds=60)


class AccessKeyQuerySet(models.QuerySet["AccessKey"]):
    def active(self) -> AccessKeyQuerySet:
        return self.filter(status=AccessKey.Status.ACTIVE)


class AccessKey(models.Model):
    """An API key pair. The secret is encrypted at rest and shown only once, when issued."""

    class Status(models.TextChoices):
        ACTIVE = "Active", "Active"
        INACTIVE = "Inactive", "Inactive"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="access_keys")
    access_key_id = models.CharField(max_length=128, unique=True)
    secret_encrypted = models.TextField(editable=False)
    description = models.CharField(max_length=256, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccessKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.access_key_id

    @classmethod
    def issue(
        cls,
        account: Account,
        *,
        description: str = "",
        access_key_id: str | None = None,
        secret: str | None = None,
    ) -> tuple[AccessKey, str]:
        """Create a key; return it with the plain secret, which is never readable again."""
        secret = secret or new_secret_access_key()
        key = cls.objects.create(
            account=account,
            access_key_id=access_key_id or new_access_key_id(),
            secret_encrypted=encryption.encrypt(secret),
            description=description,
        )
        return key, secret

    def secret(self) -> str:
        return encryption.decrypt(self.secret_encrypted)

    def deactivate(self) -> None:
        self.status = self.Status.INACTIVE
        self.save(update_fields=["status"])

    def activate(self) -> None:
        self.status = self.Status.ACTIVE
        self.save(update_fields=["status"])

    def touch(self) -> None:
        """Record use; at most once a minute so busy keys don't write on every call.

        The UPDATE repeats the condition on the stored time: an instance built from what a
        process remembers of the key (api.auth) may hold an older time than another process
        wrote since, and then only asks."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > KEY_TOUCH_INTERVAL:
            unrecorded = models.Q(last_used_at__isnull=True) | models.Q(
                last_used_at__lt=now - KEY_TOUCH_INTERVAL
            )
            AccessKey.objects.filter(unrecorded, pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


# --- Sign-in rate limit --------------------------------------------------------------------
# Per user name and client address: a hard stop after 10 failures in 15 minutes.
LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
# Per user name across every address: after this many failures within the hour, each further
# attempt waits for a delay that doubles per failure (1 s, 2 s, 4 s, ...) up to five minutes.
# Bounded, so the real user is slowed down, never locked out; guesses from many addresses
# drop to at most one every five minutes.
LOGIN_USER_FREE_FAILURES = 10
LOGIN_USER_WINDOW = timedelta(hours=1)
LOGIN_USER_MAX_DELAY = timedelta(minutes=5)


class LoginAttemptQuerySet(models.QuerySet["LoginAttempt"]):
    def recent(self, username: str, ip_address: str) -> LoginAttemptQuerySet:
        since = timezone.now() - LOGIN_FAILURE_WINDOW
        return self.filter(username=username[:150], ip_address=ip_address, at__gt=since)

    def wait_after_limit(self, limit: int, window: timedelta, now: datetime) -> int:
        """A hard limit over these attempts: seconds until the oldest of the first `limit`
        leaves `window` (0: fewer than `limit`, so another attempt may go now)."""
        times = list(self.order_by("at").values_list("at", flat=True)[:limit])
        if len(times) < limit:
            return 0
        return seconds_until(times[0] + window, now)

    def backoff(self, free_failures: int, max_delay: timedelta, now: datetime) -> int:
        """A back-off over these failures: none for the first `free_failures`, then a delay
        after the latest that doubles per failure (1 s, 2 s, 4 s, ...) up to `max_delay`.
        Seconds until the next attempt may go (0: now)."""
        failures = self.count()
        if failures < free_failures:
            return 0
        latest = self.order_by("-at").values_list("at", flat=True)[0]
        exponent = min(failures - free_failures, 20)
        delay = min(timedelta(seconds=2**exponent), max_delay)
        return seconds_until(latest + delay, now)


@dataclass(frozen=True)
class LoginRefusal:
    """Why a sign-in attempt is refused before its password is checked."""

    code: str  # "address": the pair's hard limit; "user": the user name's back-off
    wait_seconds: int


class LoginAttempt(models.Model):
    """A sign-in attempt counted against the limits (see accounts.views.LoginView). It is
    written BEFORE the password is checked and stays as a failure unless the sign-in succeeds.

    Rows in the database rather than a per-process cache, so every web worker sees the same
    count. A success deletes the pair's rows; older rows are pruned as attempts come in.
    """

    username = models.CharField(max_length=150)
    ip_address = models.CharField(max_length=45)
    at = models.DateTimeField(default=timezone.now)

    objects = LoginAttemptQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["username", "ip_address", "at"])]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def begin(cls, username: str, ip_address: str) -> LoginRefusal | None:
        """Check both limits and count this attempt, as one step: a refusal, or None once the
        attempt is counted and its password may be checked.

        1. Lock the user's row (when the name exists), so concurrent attempts on one account
           take turns: each sees the attempts counted before it (40 at once check at most
           LOGIN_FAILURE_LIMIT passwords, not 40). Unknown names have no password to guess.
        2. The pair's hard limit, then the user name's back-off.
        3. Count the attempt; prune what no window needs any more.
        """
        name = username[:150]
        now = timezone.now()
        with transaction.atomic():
            user_model = get_user_model()
            user_model._default_manager.select_for_update().filter(
                **{user_model.USERNAME_FIELD: name}
            ).first()
            recent = cls.objects.recent(name, ip_address)
            wait = recent.wait_after_limit(LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW, now)
            if wait > 0:
                return LoginRefusal("address", wait)
            failures = cls.objects.filter(username=name, at__gt=now - LOGIN_USER_WINDOW)
            wait = failures.backoff(LOGIN_USER_FREE_FAILURES, LOGIN_USER_MAX_DELAY, now)
            if wait > 0:
                return LoginRefusal("user", wait)
            cls.objects.filter(username=name, at__lte=now - LOGIN_USER_WINDOW).delete()
            cls.objects.create(username=name, ip_address=ip_address, at=now)
        return None

    @classmethod
    def clear(cls, username: str, ip_address: str) -> None:
        cls.objects.filter(username=username[:150], ip_address=ip_address).delete()


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from `now` until `moment`, rounded up, never negative."""
    return max(0, math.ceil((moment - now).total_seconds()))
