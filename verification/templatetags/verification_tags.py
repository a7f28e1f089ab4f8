"""The email verification box of an identity page: the mail's status and the Resend button."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from identities.models import Identity, IdentityType, VerificationStatus

from ..flows import resend_wait
from ..models import MailStatus, VerificationLink

register = template.Library()


def box_context(identity: Identity, *, error: str = "", notice: str = "") -> dict[str, Any]:
    link = (
        VerificationLink.objects.for_address(identity.account_id, identity.region_id, identity.name)
        .only("mail_status", "mail_error", "sent_at", "created_at", "superseded_at")
        .first()
    )
    in_flight = (
        link is not None
        and link.superseded_at is None
        and link.mail_status
        in (
            MailStatus.QUEUED,
            MailStatus.SENDING,
        )
    )
    return {
        "identity": identity,
        "link": link,
        "polling": in_flight,
        "can_resend": identity.verification_status != VerificationStatus.SUCCESS,
        "resend_wait": resend_wait(identity, timezone.now()),
        "error": error,
        "notice": notice,
    }


@register.inclusion_tag("verification/_email_verification.html", takes_context=True)
def email_verification_box(context: template.Context, identity: Identity) -> dict[str, Any]:
    if identity.identity_type != IdentityType.EMAIL_ADDRESS:
        return {"identity": None}
    return {**box_context(identity), "csrf_token": context.get("csrf_token")}
