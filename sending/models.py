"""Sent messages and the per-minute usage counters the daily quota sums.

A `SentMessage` is stored by `sending.operations.send` when SES would answer with a MessageId,
and moved through delivery by `sending.delivery` (QUEUED → SENDING → DELIVERED / KEPT /
SIMULATED / FAILED). Its `mime` is the message exactly as it leaves sesconsole, apart from the
DKIM-Signature header the delivery adds (kept in `dkim_signature`, so that a retried delivery
sends the same bytes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, models
from django.db.models import BooleanField, F, Q, Value
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Concat, Lower, StrIndex, Substr
from django.utils import timezone

from accounts.models import Account, Region
from identities.models import Identity
from sesconsole import sql


def sending_lease() -> timedelta:
    """A delivery that started this long ago without finishing was lost with its worker: the
    sweep may queue it again (SENDING_LEASE_SECONDS, longer than the task time limit, so a
    slow delivery is not doubled)."""
    return timedelta(seconds=settings.SENDING_LEASE_SECONDS)


class Status(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    SENDING = "SENDING", "Sending"
    DELIVERED = "DELIVERED", "Delivered to the relay"
    KEPT = "KEPT", "Kept in the console"
    SIMULATED = "SIMULATED", "Mailbox simulator"
    FAILED = "FAILED", "Failed"


FINISHED = (Status.DELIVERED, Status.KEPT, Status.SIMULATED, Status.FAILED)

# The operations of the mail sesconsole sends itself (sending.outbox); every other message is
# one the account sent (SendEmail, SendRawEmail, SMTP, Send test email).
VERIFICATION_EMAIL = "VerificationEmail"
CUSTOM_VERIFICATION_EMAIL = "SendCustomVerificationEmail"
VERIFICATION_OPERATIONS = (VERIFICATION_EMAIL, CUSTOM_VERIFICATION_EMAIL)


def sender_domain() -> Combinable:
    """The From address's domain, lower-cased: what the "from: domain" filter and its index
    both compute (the same expression, so PostgreSQL and SQLite use the index)."""
    return Lower(Substr("from_address", StrIndex("from_address", Value("@")) + 1))


# PostgreSQL: every recipient lower-cased, and "@<domain>" for each, as one array per message:
# a GIN index on it answers "to: address" and "to: domain" (migration 0004).
RECIPIENT_KEYS_SQL = 'sent_recipient_keys("sending_sentmessage"."recipients") @> ARRAY[%s]::text[]'


def has_recipient_keys() -> bool:
    """Whether the database has the sent_recipient_keys function and index (migration 0004)."""
    return connection.vendor == "postgresql"


class SentMessageQuerySet(models.QuerySet["SentMessage"]):
    def from_address_is(self, address: str) -> SentMessageQuerySet:
        """The From address, ignoring case (`address` lower-cased)."""
        return self.alias(sender=Lower("from_address")).filter(sender=address)

    def from_domain_is(self, domain: str) -> SentMessageQuerySet:
        """From an address at exactly this domain (`domain` lower-cased, no subdomains)."""
        return self.alias(sender_domain=sender_domain()).filter(sender_domain=domain)

    def to_address_is(self, address: str) -> SentMessageQuerySet:
        """A recipient (To, Cc or Bcc) is this address, ignoring case (`address` lower-cased)."""
        return self._recipient_key(address)

    def to_domain_is(self, domain: str) -> SentMessageQuerySet:
        """A recipient is at exactly this domain (`domain` lower-cased)."""
        return self._recipient_key(f"@{domain}")

    def _recipient_key(self, key: str) -> SentMessageQuerySet:
        if has_recipient_keys():
            # A constant SQL text; the key is a bound parameter.
            contains = RawSQL(RECIPIENT_KEYS_SQL, (key,), output_field=BooleanField())  # noqa: S611
            return self.filter(contains)
        # Elsewhere (SQLite) the same answer from the ", "-joined text, without an index.
        joined = Concat(
            Value(", "), Lower("recipients_text"), Value(", "), output_field=models.TextField()
        )
        pattern = f", {key}, " if not key.startswith("@") else f"{key}, "
        return self.alias(joined_recipients=joined).filter(joined_recipients__contains=pattern)

    def in_scope(self, account: Account | str, region: Region | str) -> SentMessageQuerySet:
        account_id = account if isinstance(account, str) else account.pk
        region_id = region if isinstance(region, str) else region.pk
        return self.filter(account_id=account_id, region_id=region_id)

    def stalled(
        self, now: datetime, never_tried: timedelta, retried: timedelta
    ) -> SentMessageQuerySet:
        """Queued and never tried for `never_tried` (its task lost with the broker), queued
        again after a failure and not tried for `retried`, or claimed by a dead worker."""
        return self.filter(
            Q(status=Status.QUEUED, claimed_at__isnull=True, accepted_at__lt=now - never_tried)
            | Q(status=Status.QUEUED, claimed_at__lt=now - retried)
            | Q(status=Status.SENDING, claimed_at__lt=now - sending_lease())
        )


class SentMessage(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sent_messages")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    # SES's MessageId; the Message-ID header is <message_id@...> (sending.message_ids).
    message_id = models.CharField(max_length=64, unique=True)
    actor = models.CharField(max_length=200)  # accounts.actors
    # SendEmail / SendRawEmail (the ses: action), or a VERIFICATION_OPERATIONS one.
    operation = models.CharField(max_length=32)
    raw_content = models.BooleanField(default=False)  # given as a MIME message, not Simple

    from_header = models.CharField(max_length=998)  # as given, display name included
    from_address = models.CharField(max_length=320, db_index=True)  # the bare address
    subject = models.CharField(max_length=998, blank=True)
    # The identity whose settings applied (the owner's, for delegated sending).
    identity = models.ForeignKey(
        "identities.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_name = models.CharField(max_length=320, blank=True)
    source_arn = models.CharField(max_length=600, blank=True)  # delegated: the owner's identity
    configuration_set_name = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)  # [[name, value], ...]
    feedback_address = models.CharField(max_length=320, blank=True)

    envelope_from = models.CharField(max_length=320)  # MAIL FROM (Return-Path)
    recipients = models.JSONField(default=list)  # RCPT TO, in order
    recipients_text = models.TextField(blank=True)  # ", "-joined, for the console's filter
    quota_recipients = models.PositiveIntegerField(default=0)  # counted in the daily quota
    mime = models.BinaryField()
    size = models.PositiveIntegerField(default=0)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    accepted_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set by the first delivery attempt, reused by any later one.
    dkim_signature = models.BinaryField(blank=True, default=b"")
    dkim_domain = models.CharField(max_length=253, blank=True)
    dkim_selector = models.CharField(max_length=63, blank=True)
    # Mailbox simulator recipients: {address: scenario}, recorded, never relayed.
    simulator_outcomes = models.JSONField(default=dict, blank=True)

    objects = SentMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        indexes = [
            # The Sent messages list: newest first, keyset-paginated, per account and region.
            models.Index(
                F("account"), F("region"), F("accepted_at").desc(), F("id").desc(),
                name="sent_scope_newest",
            ),
            models.Index(
                F("account"), F("region"), F("status"), F("accepted_at").desc(),
                name="sent_scope_status",
            ),
            # The list's other filters, each newest first within its value (keyset pages).
            models.Index(
                F("account"), F("region"), Lower("from_address"), F("accepted_at").desc(),
                F("id").desc(), name="sent_scope_from",
            ),
            models.Index(
                F("account"), F("region"), sender_domain(), F("accepted_at").desc(),
                F("id").desc(), name="sent_scope_from_domain",
            ),
            models.Index(
                F("account"), F("region"), F("configuration_set_name"), F("accepted_at").desc(),
                F("id").desc(), name="sent_scope_set",
            ),
            models.Index(
                F("account"), F("region"), F("operation"), F("accepted_at").desc(),
                name="sent_scope_operation",
            ),
            models.Index(fields=["status", "claimed_at"], name="sent_status_claimed"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.message_id

    @property
    def raw_as_sent(self) -> bytes:
        """The bytes a recipient's server gets: the DKIM signature (once signed) and the MIME."""
        return bytes(self.dkim_signature) + bytes(self.mime)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_verification_mail(self) -> bool:
        return self.operation in VERIFICATION_OPERATIONS

    # --- delivery transitions (guarded conditional updates: one worker at a time) -------------
    # A delivery reads, claims and finishes every message: plain statements whose text is
    # written once per process (`_delivery_sql`); the ORM compiling them was about a third of
    # a worker's CPU per message (BENCHMARKS.md, "Eighth session: delivery"). Rare transitions
    # (release) use the ORM.
    @classmethod
    def for_delivery(cls, pk: int, now: datetime) -> tuple[SentMessage, str] | None:
        """The message if a worker may claim it now (QUEUED, or SENDING by a worker that
        died), with the account whose identities sign it (the identity's owner, for delegated
        sending); None when it is gone, finished or held by a live worker. Fields a delivery
        does not read are deferred."""
        with sql.prepared_cursor() as cursor:
            cursor.execute(_delivery_sql().read, [pk, *_claimable(now)])
            row = cursor.fetchone()
        if row is None:
            return None
        message, offset = sql.instance(cls, row, 0, DELIVERY_FIELDS)
        return message, row[offset]

    def claim(self, now: datetime, signature: Signature | None = None) -> bool:
        """QUEUED (or SENDING by a worker that died) → SENDING, for one worker only.

        `signature` (made from the row as read) is stored with the claim unless the row has
        one already; either way the instance then holds the stored one, so that every attempt
        sends the same bytes."""
        new = signature or Signature(b"", "", "")
        with sql.prepared_cursor() as cursor:
            cursor.execute(
                _delivery_sql().claim,
                [Status.SENDING.value, now, *new, self.pk, *_claimable(now)],
            )
            row = cursor.fetchone()
        if row is None:
            return False
        self.status, self.claimed_at = Status.SENDING, now
        self.attempts, signature_bytes, self.dkim_domain, self.dkim_selector = row
        self.dkim_signature = bytes(signature_bytes)
        return True

    def release(self, error: str) -> None:
        """SENDING → QUEUED after a transient failure: the task tries again later."""
        SentMessage.objects.filter(pk=self.pk, status=Status.SENDING).update(
            status=Status.QUEUED, last_error=error[:2000]
        )
        self.status, self.last_error = Status.QUEUED, error[:2000]

    def finish(self, status: str, now: datetime, error: str = "") -> None:
        self.status = status
        self.finished_at = now
        self.last_error = error[:2000]
        with sql.prepared_cursor() as cursor:
            cursor.execute(_delivery_sql().finish, [status, now, self.last_error, self.pk])


class Signature(NamedTuple):
    """A message's DKIM-Signature header field (CRLF-terminated) and what made it."""

    header: bytes
    domain: str
    selector: str


# What a delivery reads of a message (`SentMessage.for_delivery`).
DELIVERY_FIELDS = (
    "id", "account", "region", "message_id", "from_address", "envelope_from", "recipients",
    "mime", "status", "accepted_at", "claimed_at", "attempts", "dkim_signature", "dkim_domain",
    "dkim_selector", "simulator_outcomes",
)  # fmt: skip


def _claimable(now: datetime) -> list[Any]:
    """The parameters of the claimable condition: QUEUED, or SENDING with the lease run out."""
    return [Status.QUEUED.value, Status.SENDING.value, now - sending_lease()]


class _DeliverySql(NamedTuple):
    read: str
    claim: str
    finish: str


@cache
def _delivery_sql() -> _DeliverySql:
    table, identities = sql.table(SentMessage), sql.table(Identity)
    pk, status, claimed_at, attempts, signature, domain, selector = (
        sql.column(SentMessage, name)
        for name in ("id", "status", "claimed_at", "attempts", "dkim_signature", "dkim_domain",
                     "dkim_selector")
    )  # fmt: skip

    def claimable(prefix: str = "") -> str:
        return f"({prefix}{status} = %s OR ({prefix}{status} = %s AND {prefix}{claimed_at} < %s))"

    owner = (
        f"COALESCE({identities}.{sql.column(Identity, 'account')}, "
        f"{table}.{sql.column(SentMessage, 'account')})"
    )
    read = (
        f"SELECT {sql.columns(SentMessage, table, DELIVERY_FIELDS)}, {owner} "  # noqa: S608
        f"FROM {table} LEFT JOIN {identities} ON {identities}.{sql.column(Identity, 'id')} "
        f"= {table}.{sql.column(SentMessage, 'identity')} "
        f"WHERE {table}.{pk} = %s AND {claimable(f'{table}.')}"
    )
    # A signature made by an earlier attempt stays: the first one stored is the one sent.
    unsigned = f"length({signature}) = 0"
    claim = (
        f"UPDATE {table} SET {status} = %s, {claimed_at} = %s, "  # noqa: S608
        f"{attempts} = {attempts} + 1, "
        f"{signature} = CASE WHEN {unsigned} THEN %s ELSE {signature} END, "
        f"{domain} = CASE WHEN {unsigned} THEN %s ELSE {domain} END, "
        f"{selector} = CASE WHEN {unsigned} THEN %s ELSE {selector} END "
        f"WHERE {pk} = %s AND {claimable()} "
        f"RETURNING {attempts}, {signature}, {domain}, {selector}"
    )
    finish = (
        f"UPDATE {table} SET {status} = %s, "  # noqa: S608
        f"{sql.column(SentMessage, 'finished_at')} = %s, "
        f"{sql.column(SentMessage, 'last_error')} = %s WHERE {pk} = %s"
    )
    return _DeliverySql(read=read, claim=claim, finish=finish)


class SendingUsage(models.Model):
    """Recipients counted against the daily quota, per account, region and minute.

    SentLast24Hours is the sum of the last 1,440 minutes: one indexed range read, whatever the
    number of messages. Rows older than a day are deleted by the beat sweep.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    minute = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "minute"], name="unique_sending_usage_minute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.region_id} {self.minute:%Y-%m-%d %H:%M}: {self.recipients}"
