"""Mail sesconsole sends itself goes through the account's outbox: verification mails.

A verification mail (the default one of an email identity, or SendCustomVerificationEmail's)
is stored as a `SentMessage` and delivered by `sending.delivery`, exactly like the account's own
sends: DKIM-signed by the From domain's identity, relayed to EMAIL_HOST or kept for the console,
listed on the Sent messages page. What differs is how it gets there:

- it does not go through `sending.operations.send`: no sandbox rule, no quota, no sender check
  (the From address is sesconsole's own, or a template's, checked when the template was saved);
  `quota_recipients` is 0, so it never counts in SentLast24Hours;
- its `operation` says what it is (`models.VERIFICATION_OPERATIONS`), so the console can tell it apart;
- its `message_id` is the link's, the MessageId SendCustomVerificationEmail returned;
- the link, not the message, owns the retries: the mail task (`sending.tasks`) retries a
  transient relay failure with the verification back-off and records the outcome on the link
  (its 24 hours start when the mail leaves).
"""

from __future__ import annotations

import email.utils
from datetime import datetime

from django.db.models import Q

from accounts import actors
from verification import mailer
from verification.models import VerificationLink

from . import delivery
from .models import (
    CUSTOM_VERIFICATION_EMAIL,
    VERIFICATION_EMAIL,
    SentMessage,
    Status,
    sending_lease,
)

SENT = (Status.DELIVERED, Status.KEPT, Status.SIMULATED)


def claim_verification_link(link_id: int, now: datetime) -> VerificationLink | None:
    """The link whose mail this worker sends now, or None: gone, superseded (its stored mail,
    if any, is withdrawn), sent already, or claimed by another worker."""
    link = (
        VerificationLink.objects.select_related("account", "region", "template")
        .filter(pk=link_id)
        .first()
    )
    if link is not None and link.superseded_at is not None:
        withdraw(link, "A newer verification email replaced this one.", now)
    if link is None or not link.needs_sending or not link.claim_for_sending(now):
        return None
    return link


def send_verification_mail(link: VerificationLink, now: datetime) -> str:
    """Store the claimed link's mail (once) and deliver it; record the outcome on the link.

    Returns the message's status. Raises `delivery.TransientFailure` when the relay can't take
    it now (the link is QUEUED again for the task's retry)."""
    try:
        message = _stored(link, now)
    except mailer.MailRenderError as exc:
        link.mark_failed(str(exc))
        return Status.FAILED
    try:
        status = delivery.deliver(message.pk, now) or _status_of(message)
    except delivery.TransientFailure as exc:
        link.release(str(exc))
        raise
    if status in SENT:
        link.mark_sent(now)
    elif status == Status.FAILED:
        message.refresh_from_db(fields=["last_error"])
        link.mark_failed(message.last_error)
    else:  # another worker holds the message (a sweep): try again later
        link.release("The mail is being delivered by another worker.")
        raise delivery.TransientFailure("The mail is being delivered by another worker.")
    return status


def give_up(link: VerificationLink, error: str, now: datetime) -> None:
    """The retries are spent: the link's mail failed, and its message is not delivered later."""
    link.mark_failed(error)
    withdraw(link, error, now)


def withdraw(link: VerificationLink, reason: str, now: datetime) -> None:
    """A mail stored but not delivered yet is not delivered any more (its link gave up, or a
    newer link replaced it): the sending sweep would otherwise deliver it later."""
    SentMessage.objects.filter(message_id=link.message_id).filter(
        Q(status=Status.QUEUED) | Q(status=Status.SENDING, claimed_at__lt=now - sending_lease())
    ).update(status=Status.FAILED, finished_at=now, last_error=reason[:2000])


def _status_of(message: SentMessage) -> str:
    return SentMessage.objects.values_list("status", flat=True).get(pk=message.pk)


def _stored(link: VerificationLink, now: datetime) -> SentMessage:
    """The link's mail as a SentMessage, rendered once: a retry finds the stored one (the
    plain token is readable until the mail has left, so rendering again would also work)."""
    existing = SentMessage.objects.filter(message_id=link.message_id).first()
    if existing is not None:
        return existing
    mail = mailer.render(link, link.token())
    sender = email.utils.parseaddr(mail.from_email)[1]
    # Django's MIME classes take `linesep` (the stubs know only email.message.Message's).
    raw = mailer.build(link, mail).message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    return SentMessage.objects.create(
        account_id=link.account_id,
        region_id=link.region_id,
        message_id=link.message_id,
        actor=actors.system("verification mail"),
        operation=CUSTOM_VERIFICATION_EMAIL if link.template_name else VERIFICATION_EMAIL,
        raw_content=False,  # built by sesconsole: /_aws/ses shows its Subject and Body
        from_header=mail.from_email[:998],
        from_address=sender,
        subject=mail.subject[:998],
        configuration_set_name=link.configuration_set_name,
        envelope_from=sender,
        recipients=[mail.to],
        recipients_text=mail.to,
        quota_recipients=0,
        mime=raw,
        size=len(raw),
        accepted_at=now,
    )
