"""Email address verification (docs/design.md, flow 3): the three ways a mail is requested, the
click, and the 24-hour expiry. The console, the API, the Celery tasks and admin call these.

Requests: creating an email identity (provisioning's after-commit hook), Resend, and
SendCustomVerificationEmail. Each issues a fresh link (superseding older ones of the address)
and queues the mail task after the transaction commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts import actors
from accounts.models import Account, Region
from identities import operations, provisioning
from identities.hierarchy import applicable_identity
from identities.models import (
    Identity,
    IdentityEvent,
    IdentityQuerySet,
    IdentityType,
    VerificationStatus,
)
from sesconsole import validators
from sesconsole.enqueue import enqueue_after_commit, send_now
from templates_app.rules import get_template

from .models import LINK_LIFETIME, LinkOutcome, MailStatus, VerificationLink

log = logging.getLogger(__name__)

# SES: "SendCustomVerificationEmail is rate-limited to once per second" (per account).
CUSTOM_SEND_INTERVAL = timedelta(seconds=1)
# A link still QUEUED this long after it was issued, and with no attempt for IDLE_AFTER (longer
# than the longest retry back-off, 10 min), has lost its task: the broker was down or lost it.
STALLED_AFTER = timedelta(minutes=15)
IDLE_AFTER = timedelta(minutes=15)
BATCH = 500


class ProductionAccessNotGrantedError(ValidationError):
    """SES: ProductionAccessNotGrantedException (custom verification mails need production)."""


class TooManyRequestsError(ValidationError):
    """SES: TooManyRequestsException."""


class MessageRejectedError(ValidationError):
    """SES: MessageRejected (the From address of the template is no longer verified)."""


# --- requesting a mail ------------------------------------------------------------------------
# Queued by name (sesconsole.enqueue): the mail goes out through the account's outbox, the
# sending app above this one (sending.outbox), whose task renders, stores and delivers it.
SEND_VERIFICATION_EMAIL = "sending.tasks.send_verification_email"


def queue_mail(link: VerificationLink) -> None:
    # If the broker is down the link stays QUEUED and requeue_stalled() sends it later.
    enqueue_after_commit(SEND_VERIFICATION_EMAIL, link_id=link.pk)


def start_identity_verification(*, identity_id: int) -> VerificationLink | None:
    """After an email identity is created (the `start_identity_verification` task, queued by
    identities.operations): a link and its mail, if it still needs one."""
    identity = (
        Identity.objects.select_related("account", "region")
        .filter(pk=identity_id, identity_type=IdentityType.EMAIL_ADDRESS)
        .filter(verification_status=VerificationStatus.PENDING)
        .filter(verification_links__isnull=True)
        .first()
    )
    if identity is None:
        # Deleted, verified in the same transaction (a custom template click), or it has its
        # link already (this task ran twice).
        return None
    with transaction.atomic():
        link = VerificationLink.issue(
            account=identity.account,
            region=identity.region,
            email_address=identity.name,
            identity=identity,
        )
        queue_mail(link)
    return link


def resend_wait(identity: Identity, now: datetime) -> int:
    """Seconds until Resend is allowed again for this identity (0: now)."""
    last = (
        VerificationLink.objects.for_address(identity.account_id, identity.region_id, identity.name)
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    interval = timedelta(seconds=settings.VERIFICATION_RESEND_INTERVAL)
    return max(0, int((last + interval - now).total_seconds() + 0.999))


def resend_verification_email(
    identity: Identity, *, actor: str = "", now: datetime | None = None
) -> VerificationLink:
    """The console's Resend: a new link (the old one stops working) and a new mail."""
    now = now or timezone.now()
    if identity.identity_type != IdentityType.EMAIL_ADDRESS:
        raise ValidationError(
            "Only email address identities get a verification email. Domains are verified "
            "through their DNS records.",
            code="invalid",
        )
    if identity.verification_status == VerificationStatus.SUCCESS:
        raise ValidationError(
            f"{identity.name} is already verified; there is nothing to resend.", code="invalid"
        )
    wait = resend_wait(identity, now)
    if wait:
        raise TooManyRequestsError(
            f"A verification email was sent to {identity.name} less than "
            f"{settings.VERIFICATION_RESEND_INTERVAL} seconds ago. Check the inbox (and the junk "
            f"folder), or wait {wait} second{pluralize(wait)} and choose Resend again.",
            code="too_many_requests",
        )
    with transaction.atomic():
        identity.mark_pending(now)
        link = VerificationLink.issue(
            account=identity.account,
            region=identity.region,
            email_address=identity.name,
            identity=identity,
            now=now,
        )
        IdentityEvent.record(
            identity, "verification_resent", "Verification email sent again.", actor
        )
        queue_mail(link)
    return link


def send_custom_verification_email(
    account: Account,
    region: Region,
    email_address: str,
    template_name: str,
    configuration_set_name: str = "",
) -> str:
    """SES SendCustomVerificationEmail: queue the template's mail; return its MessageId.

    No identity is created here (FAQ Q3): clicking the link creates it, verified.
    """
    now = timezone.now()
    address = validators.normalize_email(email_address)
    if not account.region_settings(region).production_access_enabled:
        raise ProductionAccessNotGrantedError(
            "Production access not granted. Custom verification emails can only be sent by "
            f"accounts out of the sandbox in {region.name}. Request production access on the "
            "Account dashboard.",
            code="production_access_not_granted",
        )
    template = get_template(account, region, template_name)
    provisioning.check_configuration_set_exists(account, region, configuration_set_name)
    if applicable_identity(account, region, template.from_email_address) is None:
        raise MessageRejectedError(
            f"The template's From address {template.from_email_address} is not verified in "
            f"{region.code}. Verify the address or its domain, or edit the template.",
            code="message_rejected",
        )
    with transaction.atomic():
        # Lock the account row so concurrent requests see each other's links (rate limit).
        account.lock()
        _check_custom_rate(account, now)
        identity = (
            Identity.objects.in_scope(account, region)
            .filter(identity_type=IdentityType.EMAIL_ADDRESS, name=address)
            .first()
        )
        link = VerificationLink.issue(
            account=account, region=region, email_address=address, identity=identity,
            template=template, configuration_set_name=configuration_set_name, now=now,
        )  # fmt: skip
        queue_mail(link)
    return link.message_id


def _check_custom_rate(account: Account, now: datetime) -> None:
    last = (
        VerificationLink.objects.filter(account=account)
        .exclude(template_name="")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is not None and now - last < CUSTOM_SEND_INTERVAL:
        raise TooManyRequestsError(
            "Too many requests: custom verification emails can be sent at most once per second "
            "per account. Wait a second and try again.",
            code="too_many_requests",
        )


# --- the click --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Confirmation:
    outcome: LinkOutcome
    link: VerificationLink | None = None
    identity: Identity | None = None
    problem: str = ""  # why a live link could not verify (e.g. the identity limit)

    @property
    def succeeded(self) -> bool:
        verified = self.identity is not None and self.identity.verified_for_sending
        return verified and self.outcome in (LinkOutcome.VERIFIED, LinkOutcome.ALREADY_USED)

    @property
    def redirect_url(self) -> str:
        """The template's own page for this outcome, or "" for our built-in page."""
        if self.link is None:
            return ""
        return (
            self.link.success_redirection_url
            if self.succeeded
            else self.link.failure_redirection_url
        )


def confirm(token: str, now: datetime | None = None) -> Confirmation:
    """A click on a link: verify the address once; a repeat click of a used link is harmless
    (success if the address is verified) but never verifies anything."""
    now = now or timezone.now()
    link = VerificationLink.find(token)
    if link is None:
        return Confirmation(LinkOutcome.UNKNOWN)
    try:
        with transaction.atomic():
            outcome = link.consume(now)
            if outcome is LinkOutcome.VERIFIED:
                return Confirmation(outcome, link, _verify_address(link, now))
    except ValidationError as exc:
        # The consume was rolled back with it: the link still works once the problem is fixed.
        return Confirmation(LinkOutcome.UNKNOWN, link, None, exc.messages[0])
    return Confirmation(outcome, link, _address_identity(link).first())


def _address_identity(link: VerificationLink) -> IdentityQuerySet:
    return Identity.objects.filter(
        account_id=link.account_id,
        region_id=link.region_id,
        identity_type=IdentityType.EMAIL_ADDRESS,
        name=link.email_address,
    )


def _verify_address(link: VerificationLink, now: datetime) -> Identity:
    identity = _address_identity(link).select_for_update().first()
    if identity is None:
        # FAQ Q3: a custom verification email's click creates the identity.
        spec = provisioning.NewIdentity(
            identity_type=IdentityType.EMAIL_ADDRESS, name=link.email_address
        )
        identity = operations.create_identity(
            link.account, link.region, spec, actor=actors.system("verification link")
        )
    identity.mark_verified(now)
    IdentityEvent.record(
        identity,
        "verified",
        "Email address verified: the verification link was opened.",
        actors.system("verification link"),
    )
    return identity


# --- housekeeping (beat) ----------------------------------------------------------------------
def expire_unclicked(now: datetime | None = None) -> int:
    """Identities whose newest link lapsed without a click (24 h) → FAILED. Returns how many."""
    now = now or timezone.now()
    lapsed = list(
        VerificationLink.objects.lapsed(now)
        .filter(identity__verification_status=VerificationStatus.PENDING)
        .values_list("pk", "identity_id")[:BATCH]
    )
    failed = 0
    for link_id, identity_id in lapsed:
        with transaction.atomic():
            identity = Identity.objects.select_for_update().filter(pk=identity_id).first()
            still_lapsed = VerificationLink.objects.lapsed(now).filter(pk=link_id).exists()
            if identity is not None and still_lapsed and identity.mark_failed(now):
                IdentityEvent.record(
                    identity,
                    "verification_failed",
                    f"Nobody opened the verification link within {LINK_LIFETIME.total_seconds() / 3600:.0f} "
                    "hours. Choose Resend to send a new one.",
                    actors.system("verification expiry"),
                )
                failed += 1
    return failed


def requeue_stalled(now: datetime | None = None) -> int:
    """Queue again the mails whose task was lost (the broker was down when they were requested,
    or during a retry). Returns how many were queued."""
    now = now or timezone.now()
    stalled = list(
        VerificationLink.objects.live()
        .filter(
            mail_status__in=[MailStatus.QUEUED, MailStatus.SENDING],
            created_at__lte=now - STALLED_AFTER,
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lte=now - IDLE_AFTER))
        .exclude(token_encrypted="")
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(send_now(SEND_VERIFICATION_EMAIL, link_id=link_id) for link_id in stalled)


def start_lost_verifications(now: datetime | None = None) -> int:
    """Issue the link and mail of pending email identities that never got one: their
    `start_identity_verification` task was lost (the broker was down when they were created).
    Returns how many links were issued."""
    now = now or timezone.now()
    lost = list(
        Identity.objects.filter(
            identity_type=IdentityType.EMAIL_ADDRESS,
            verification_status=VerificationStatus.PENDING,
            created_at__lte=now - STALLED_AFTER,
            verification_links__isnull=True,
        ).values_list("pk", flat=True)[:BATCH]
    )
    return sum(start_identity_verification(identity_id=pk) is not None for pk in lost)
