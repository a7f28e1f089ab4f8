"""The send operation: every entry point (v2 and v1 API, SMTP, console) hands over one Outgoing.

Interface (entry points build these and call `send`; nothing else):

    from sending.operations import Outgoing, Simple, Attachment, send
    from sending.errors import SendRefused, RefusalKind

    message = send(Outgoing(
        account=account, region="us-east-1", actor=actors.api(key_id),
        operation="SendEmail",                    # or "SendRawEmail": the ses: action
        from_address="Jane <jane@example.com>",   # display name allowed; None: raw's From
        to=[...], cc=[...], bcc=[...], reply_to=[...],
        simple=Simple(subject=..., text=..., html=..., headers=[(name, value)], attachments=[]),
        # or raw=b"From: ...\r\n...",            # a full MIME message
        envelope_recipients=None,                 # raw: RCPT TO / v1 Destinations / v2 Destination
        envelope_sender=None,                     # raw: SMTP MAIL FROM / v1 Source
        feedback_forwarding_address=None, configuration_set_name=None,
        tags=[("name", "value")], from_identity_arn=None, feedback_forwarding_identity_arn=None,
        max_size=MAX_MESSAGE_SIZE,                # the v1 API passes V1_MAX_MESSAGE_SIZE
        key_check=None,                           # SMTP, API: KeyCheck of the caller's key
        read_ahead=None,                          # SMTP: the session's kept reads (read_ahead)
    ))
    message.message_id   # SES's MessageId; the Message-ID header is <message_id@...>

`send` raises `SendRefused(kind, message)`; each entry point maps `kind` to its dialect in one
table. With raw content, the envelope is `envelope_recipients` when given, else the To, Cc and
Bcc headers (`to`/`cc`/`bcc` are for Simple content); `from_address` (v2 FromEmailAddress,
v1 Source), when given, must be verified as well as the raw From header.

The rules, in the order they are checked (ses-sending §4; the order past syntax is UNVERIFIED
and chosen here): syntax and limits (addresses, tags, recipients, headers, size) → account
sending paused → a named configuration set exists and is not paused → the senders are
verified (or authorised by the owner's policies) → sandbox recipients → custom MAIL FROM →
the sending rate, then the daily quota. Then the message is stored and its delivery queued
after commit (`sending.delivery`).

What the rules read (the account's settings, the identities, the session's key, configuration
sets) is read for each call, except that an SMTP session passes the reads it keeps for up to
`SMTP_SESSION_READ_AHEAD_SECONDS` (`sending.read_ahead`: the bound on staleness, and why).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError
from django.db.models import Exists, QuerySet
from django.utils import timezone

from accounts.models import AccessKey, Account, AccountRegion, Region
from identities import hierarchy
from identities.models import ConfigurationSet, Identity, MailFromStatus
from sesconsole import sql

from . import addresses, authorization, envelope, mime, queue, quota, simulator, tags
from .addresses import Address
from .errors import RefusalKind, SendRefused, not_verified
from .mime import Attachment, Simple
from .models import SentMessage
from .read_ahead import ReadAhead

__all__ = [
    "Attachment",
    "KeyCheck",
    "Outgoing",
    "Simple",
    "checked_key",
    "key_check_statement",
    "key_check_values",
    "send",
]

MAX_RECIPIENTS = 50
MAX_MESSAGE_SIZE = 40 * 1024 * 1024  # v2 API and SMTP, after base64 (DG quotas)
V1_MAX_MESSAGE_SIZE = 10 * 1024 * 1024


Found = dict[tuple[str, str], Identity | None]  # (account id, address) → applicable identity


@dataclass(frozen=True)
class KeyCheck:
    """The caller's access key, checked in the round trip that reads the account's settings
    (not a trip of its own: BENCHMARKS.md, issues 15 and 16): still active and still the
    sending account's, else the send is refused (KEY_NOT_ACTIVE) before anything is stored.

    An SMTP session outlives its AUTH, so a deactivated key stops open sessions. The API
    passes the secret a request was verified against when it did not read the key itself
    (api.auth): the key must then still have that secret, and the region the request signed
    for (the message's) must still be enabled, as the API's own read of the key requires."""

    access_key_id: str
    secret_encrypted: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """Everything an entry point hands over (see the module docstring)."""

    account: Account
    region: Region | str  # the code, or the Region when the entry point has it
    actor: str
    operation: str = "SendEmail"
    from_address: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    simple: Simple | None = None
    raw: bytes | None = None
    envelope_recipients: list[str] | None = None
    envelope_sender: str | None = None
    feedback_forwarding_address: str | None = None
    configuration_set_name: str | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    from_identity_arn: str | None = None
    feedback_forwarding_identity_arn: str | None = None
    max_size: int = MAX_MESSAGE_SIZE
    key_check: KeyCheck | None = None
    # An SMTP session's reads kept for a short window (sending.read_ahead): where the
    # settings, identities, key and configuration sets come from, not which rules apply.
    read_ahead: ReadAhead | None = None


@dataclass
class _Draft:
    """What the syntax pass learnt: the parsed addresses and the message to finish."""

    from_header: Address
    senders: list[Address]  # every address that must be verified (From, envelope, feedback)
    recipients: list[Address]
    subject: str
    configuration_set_name: str | None
    tags: list[tuple[str, str]]
    source_arn: str | None
    feedback_arn: str | None
    feedback: Address | None
    parts: mime.RawParts
    return_path: Address | None = None  # a raw message's Return-Path header


def send(outgoing: Outgoing) -> SentMessage:
    """Apply every SES rule, store the message and queue its delivery; see the module docstring."""
    reads = outgoing.read_ahead
    if reads is None or reads.read_at is None:
        return _send(outgoing)
    try:
        return _send(outgoing)
    except (SendRefused, IntegrityError):
        # A refusal is never decided on kept reads: a change that lets the message through
        # (an identity verified, sending resumed) counts at once; only those that refuse wait
        # for the window. An identity deleted since the read fails the message's foreign key
        # when the write commits (nothing is stored): it counts at once too.
        reads.forget()
        return _send(outgoing)


def _send(outgoing: Outgoing) -> SentMessage:
    now = timezone.now()
    region = _region(outgoing.region)
    draft = _draft(outgoing)
    simulated = {a.email: s for a in draft.recipients if (s := simulator.scenario(a.email))}
    # Read now, checked below in the rules' order: the sandbox's recipients in case the
    # account is in the sandbox, the senders unless another account owns them (delegated).
    maybe_sandboxed = _sandboxed(draft, simulated)
    senders = [] if draft.source_arn else [a.email for a in draft.senders]
    account_state, found = _settings_and_identities(
        outgoing, region, senders, [a.email for a in maybe_sandboxed], now
    )
    if not account_state.sending_enabled:
        raise SendRefused(
            RefusalKind.SENDING_PAUSED,
            "Sending is paused for this account in this region. Enable sending again "
            "(PutAccountSendingAttributes) before you send.",
        )
    if draft.configuration_set_name:
        _configuration_set(outgoing, region, draft.configuration_set_name, now)
    sandboxed = [] if account_state.production_access_enabled else maybe_sandboxed
    identity = _check_senders(outgoing, region, draft, sandboxed, found)
    set_name = draft.configuration_set_name or identity.configuration_set_name or ""
    if set_name and not draft.configuration_set_name:
        _default_configuration_set(outgoing, identity, region, set_name, now)
    message_id = envelope.new_message_id(region.code, now)
    mail_from = envelope.envelope_sender(message_id, _mail_from_domain(identity, region))
    raw = mime.finish_raw(
        draft.parts,
        message_id_header=envelope.message_id_header(region.code, message_id),
        date=email.utils.format_datetime(now),
    )
    _check_size(len(raw), outgoing.max_size)
    recipients = [a.email for a in draft.recipients]
    daily = sum(1 for a in recipients if a not in simulated)
    message = SentMessage(
        account=outgoing.account,
        region=region,
        message_id=message_id,
        actor=outgoing.actor[:200],
        operation=outgoing.operation,
        raw_content=outgoing.raw is not None,
        from_header=draft.from_header.original[:998],
        from_address=draft.from_header.email,
        subject=draft.subject[:998],
        identity=identity,
        identity_name=identity.name,
        source_arn=draft.source_arn or "",
        configuration_set_name=set_name,
        tags=[list(pair) for pair in draft.tags],
        feedback_address=_feedback_address(draft, identity, outgoing),
        envelope_from=mail_from,
        recipients=recipients,
        recipients_text=", ".join(recipients),
        quota_recipients=daily,
        mime=raw,
        size=len(raw),
        accepted_at=now,
        simulator_outcomes=simulated,
    )
    # The INSERT goes in the quota's last round trip, in its transaction: committed (unless
    # the caller holds a transaction open) before anyone is told the message was accepted.
    row = quota.take(
        account_state,
        rate_recipients=len(recipients),
        daily_recipients=daily,
        now=now,
        then=sql.insert_statement(message),
    )
    sql.inserted(message, row)
    queue.deliver_after_commit(message.pk)
    return message


def _region(region: Region | str) -> Region:
    """Entry points that hold the Region (the API's call, the console's scope) pass it."""
    if isinstance(region, Region):
        return region
    found = Region.objects.filter(code=region, enabled=True).first()
    if found is None:
        raise SendRefused(RefusalKind.INVALID_PARAMETER, f"Unknown region {region}.")
    return found


# --- syntax and limits -----------------------------------------------------------------------
def _draft(outgoing: Outgoing) -> _Draft:
    if (outgoing.simple is None) == (outgoing.raw is None):
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            "Give the message content exactly once: Simple content or a Raw message.",
        )
    if outgoing.simple is not None:
        return _draft_simple(outgoing, outgoing.simple)
    assert outgoing.raw is not None
    return _draft_raw(outgoing, outgoing.raw)


def _draft_simple(outgoing: Outgoing, simple: Simple) -> _Draft:
    if not outgoing.from_address:
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            "FromEmailAddress is required with Simple content: give a verified address.",
        )
    from_header = addresses.parse(outgoing.from_address, "FromEmailAddress")
    to = addresses.parse_list(outgoing.to, "Destination.ToAddresses")
    cc = addresses.parse_list(outgoing.cc, "Destination.CcAddresses")
    bcc = addresses.parse_list(outgoing.bcc, "Destination.BccAddresses")
    reply_to = addresses.parse_list(outgoing.reply_to, "ReplyToAddresses")
    feedback = _feedback(outgoing)
    checked_tags = tags.check(outgoing.tags)
    recipients = _limited_recipients([*to, *cc, *bcc])
    mime.check_simple(simple)
    built = mime.build_simple(
        simple,
        from_header=from_header.original,
        to=[a.original for a in to],
        cc=[a.original for a in cc],
        reply_to=[a.original for a in reply_to],
    )
    return _Draft(
        from_header=from_header,
        senders=[from_header, *([feedback] if feedback else [])],
        recipients=recipients,
        subject=simple.subject,
        configuration_set_name=outgoing.configuration_set_name,
        tags=checked_tags,
        source_arn=outgoing.from_identity_arn,
        feedback_arn=outgoing.feedback_forwarding_identity_arn,
        feedback=feedback,
        parts=mime.split_raw(built.as_bytes()),
    )


def _draft_raw(outgoing: Outgoing, raw: bytes) -> _Draft:
    _check_size(len(raw), outgoing.max_size)
    parts = mime.split_raw(raw)
    control = mime.control_headers(parts)
    header_from = parts.first("From")
    if not header_from and not outgoing.from_address:
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            "The raw message has no From header and no sender was given. Add a From header "
            "with a verified address.",
        )
    from_header = addresses.parse(header_from or outgoing.from_address or "", "From")
    senders = [from_header]
    return_path_header = (parts.first("Return-Path") or "").strip()
    return_path = addresses.parse(return_path_header, "Return-Path") if return_path_header else None
    for value, what in (
        (outgoing.from_address, "Source"),
        (outgoing.envelope_sender, "MAIL FROM"),
        (parts.first("Sender"), "Sender"),
    ):
        if value:
            address = addresses.parse(value, what)
            if address.email not in [s.email for s in senders]:
                senders.append(address)
    if return_path is not None and return_path.email not in [s.email for s in senders]:
        senders.append(return_path)
    feedback = _feedback(outgoing)
    if feedback and feedback.email not in [s.email for s in senders]:
        senders.append(feedback)
    header_tags = _header_tags(control.get("x-ses-message-tags", ""))
    checked_tags = tags.check(outgoing.tags or header_tags)
    if outgoing.envelope_recipients is not None:
        recipients = addresses.parse_list(outgoing.envelope_recipients, "Destinations")
    else:
        recipients = [
            address
            for name in ("To", "Cc", "Bcc")
            for value in parts.all(name)
            for address in addresses.parse_header_list(value, name)
        ]
    return _Draft(
        from_header=from_header,
        senders=senders,
        recipients=_limited_recipients(recipients),
        subject=parts.first("Subject") or "",
        configuration_set_name=(
            outgoing.configuration_set_name or control.get("x-ses-configuration-set") or None
        ),
        tags=checked_tags,
        source_arn=(
            outgoing.from_identity_arn
            or control.get("x-ses-source-arn")
            or control.get("x-ses-from-arn")
            or None
        ),
        feedback_arn=(
            outgoing.feedback_forwarding_identity_arn
            or control.get("x-ses-return-path-arn")
            or None
        ),
        feedback=feedback,
        parts=parts,
        return_path=return_path,
    )


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise SendRefused(
            RefusalKind.TOO_LARGE,
            f"Message is too long: it has {size:,} bytes and at most {limit:,} are allowed. "
            "Link to large files instead of attaching them.",
        )


def _feedback(outgoing: Outgoing) -> Address | None:
    if not outgoing.feedback_forwarding_address:
        return None
    return addresses.parse(outgoing.feedback_forwarding_address, "FeedbackForwardingEmailAddress")


def _header_tags(value: str) -> list[tuple[str, str]]:
    """`X-SES-MESSAGE-TAGS: n1=v1, n2=v2`."""
    pairs = []
    for item in value.split(","):
        if item.strip():
            name, _, tag_value = item.strip().partition("=")
            pairs.append((name.strip(), tag_value.strip()))
    return pairs


def _limited_recipients(recipients: list[Address]) -> list[Address]:
    if not recipients:
        raise SendRefused(
            RefusalKind.MESSAGE_REJECTED,
            "There are no recipients specified. Give at least one To, Cc or Bcc address.",
        )
    if len(recipients) > MAX_RECIPIENTS:
        raise SendRefused(RefusalKind.TOO_MANY_RECIPIENTS, "Recipient count exceeds 50.")
    return recipients


# --- identities and settings -----------------------------------------------------------------
def _configuration_set(
    outgoing: Outgoing, region: Region, name: str, now: datetime
) -> ConfigurationSet:
    found = _find_configuration_set(outgoing, region, outgoing.account.pk, name, now)
    if found is None:
        raise SendRefused(
            RefusalKind.CONFIGURATION_SET_NOT_FOUND, f"Configuration set {name} does not exist."
        )
    if not found.sending_enabled:
        raise SendRefused(
            RefusalKind.CONFIGURATION_SET_SENDING_PAUSED,
            f"Sending is paused for configuration set {name}. Enable its sending before you "
            "send with it.",
        )
    return found


def _default_configuration_set(
    outgoing: Outgoing, identity: Identity, region: Region, name: str, now: datetime
) -> None:
    """The identity's default set must still exist (UNVERIFIED code: SES says "bad request")."""
    if _find_configuration_set(outgoing, region, identity.account_id, name, now) is None:
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            f"The default configuration set {name} of {identity.name} does not exist. Set "
            "another default configuration set on the identity, or name one when you send.",
        )


def _find_configuration_set(
    outgoing: Outgoing, region: Region, owner_id: str, name: str, now: datetime
) -> ConfigurationSet | None:
    """The owner's set `name`, or None: kept by an SMTP session for its own account's sets."""
    reads = _read_ahead(outgoing, owner_id, region)
    if reads is not None:
        known, found = reads.configuration_set(now, name)
        if known:
            return found
    found = ConfigurationSet.objects.filter(account_id=owner_id, region=region, name=name).first()
    if reads is not None:
        reads.keep_configuration_set(now, name, found)
    return found


def _read_ahead(outgoing: Outgoing, account_id: str, region: Region) -> ReadAhead | None:
    """The session's kept reads when they are the reads of `account_id` in `region`."""
    reads = outgoing.read_ahead
    return reads if reads is not None and reads.is_for(account_id, region.pk) else None


def _authorized(
    outgoing: Outgoing, region: Region, draft: _Draft, arn: str, address: Address
) -> Identity:
    """The owner's identity named by `arn`, if its policies let the caller send `address`."""
    return authorization.authorize(
        caller=outgoing.account,
        region=region,
        arn=arn,
        action=f"ses:{outgoing.operation}",
        from_address=draft.from_header,
        recipients=[a.email for a in draft.recipients],
        feedback=draft.feedback.email if draft.feedback else None,
        address=address,
    )


def _look_up(region: Region, wanted: list[tuple[Account, str]], found: Found) -> None:
    """Add the applicable identities of `wanted` not yet in `found`: one query per account."""
    by_account: dict[str, tuple[Account, list[str]]] = {}
    for account, address in wanted:
        if (account.pk, address) not in found:
            by_account.setdefault(account.pk, (account, []))[1].append(address)
    for account, emails in by_account.values():
        for address, identity in hierarchy.applicable_identities(account, region, emails).items():
            found[(account.pk, address)] = identity


def _settings_and_identities(
    outgoing: Outgoing, region: Region, senders: list[str], recipients: list[str], now: datetime
) -> tuple[AccountRegion, Found]:
    """The account's settings in the region and the identities that apply to `senders` and
    `recipients`: what the SMTP session kept (sending.read_ahead), else read (and kept)."""
    account = outgoing.account
    reads = _read_ahead(outgoing, account.pk, region)
    kept = reads.settings_and_identities(now, senders, recipients) if reads else None
    if kept is not None:
        state, applicable = kept
    else:
        state, applicable = _read_settings_and_identities(
            account, region, [*senders, *recipients], outgoing.key_check
        )
        if reads is not None:
            reads.keep(now, state, applicable)
    return state, {(account.pk, address): found for address, found in applicable.items()}


def _read_settings_and_identities(
    account: Account, region: Region, addresses: list[str], key_check: KeyCheck | None
) -> tuple[AccountRegion, dict[str, Identity | None]]:
    """The account's settings in the region and the identities that apply to `addresses`,
    in one round trip: two ORM queries before, and compiling them cost more than the trip
    (together about 2 ms of a ~10 ms send in cProfile on the loaded development machine).
    With `key_check`, the same trip checks the caller's key (KeyCheck)."""
    statements = [
        quota.settings_statement(account, region),
        hierarchy.applicable_statement(account, region, addresses),
    ]
    if key_check is not None:
        statements.append(key_check_statement(key_check, account, region))
    settings_rows, identity_rows, *key_rows = sql.run_together(statements)
    if key_rows == [[]]:
        raise SendRefused(
            RefusalKind.KEY_NOT_ACTIVE,
            "The access key is no longer active; log in with active SMTP credentials.",
        )
    state = quota.settings_from(settings_rows) or account.region_settings(region)
    return state, hierarchy.applicable_from(addresses, identity_rows)


def key_check_statement(check: KeyCheck, account: Account, region: Region) -> sql.Statement:
    """A row when the key passes `check`: the ORM's filters, compiled once."""
    values = key_check_values(check, account, region)
    return sql.bind(_key_check_sql(check.secret_encrypted is not None), values)


def key_check_values(check: KeyCheck, account: Account, region: Region) -> dict[str, Any]:
    """The values of `checked_key`'s placeholders (`sql.bind`)."""
    return {
        _KEY_PLACEHOLDER: check.access_key_id,
        _ACCOUNT_PLACEHOLDER: account.pk,
        _SECRET_PLACEHOLDER: check.secret_encrypted,
        _REGION_PLACEHOLDER: region.pk,
    }


_KEY_PLACEHOLDER = sql.placeholder("access key id")
_ACCOUNT_PLACEHOLDER = sql.placeholder("account id")
_SECRET_PLACEHOLDER = sql.placeholder("secret")
_REGION_PLACEHOLDER = sql.placeholder("region")


def checked_key(with_secret: bool) -> QuerySet[AccessKey]:
    """The key if it passes a KeyCheck (with its secret or without), with placeholders for
    the check's values (`key_check_values`): for a statement compiled once
    (`sql.compiled_once`), this one or another that includes it."""
    keys = AccessKey.objects.active().filter(
        access_key_id=_KEY_PLACEHOLDER, account_id=_ACCOUNT_PLACEHOLDER
    )
    if with_secret:
        enabled = Region.objects.filter(code=_REGION_PLACEHOLDER, enabled=True)
        keys = keys.filter(Exists(enabled), secret_encrypted=_SECRET_PLACEHOLDER)
    return keys.order_by()


@cache
def _key_check_sql(with_secret: bool) -> sql.Statement:
    # Compiling the ORM's query on every message cost about a sixth of an SMTP send's CPU.
    return sql.compiled_once(checked_key(with_secret).values("pk")[:1])


def _check_senders(
    outgoing: Outgoing, region: Region, draft: _Draft, sandboxed: list[Address], found: Found
) -> Identity:
    """Every sender address covered by a verified identity, or authorised by its owner's
    policies; returns the identity whose settings apply to the From address (the owner's,
    for delegated sending: the owner's DKIM, MAIL FROM and default set apply).

    `found` holds what `send` read ahead (its caller's senders and the sandbox's recipients);
    the rest (delegated senders) is looked up here. The recipients' refusal comes after the
    senders', as SES gives them."""
    owner = outgoing.account
    if draft.source_arn:
        owner = _authorized(outgoing, region, draft, draft.source_arn, draft.from_header).account
    wanted: list[tuple[Account, str]] = []
    for address in draft.senders:
        account = owner
        if address is draft.feedback and draft.feedback_arn:
            account = _authorized(outgoing, region, draft, draft.feedback_arn, address).account
        wanted.append((account, address.email))
    _look_up(region, [*wanted, *((outgoing.account, a.email) for a in sandboxed)], found)
    failed = [
        a
        for a, key in zip(draft.senders, wanted, strict=True)
        if found[(key[0].pk, key[1])] is None
    ]
    if failed:
        raise not_verified(region.code, [(a.original, a.email) for a in failed])
    identity = found[(owner.pk, draft.from_header.email)]
    assert identity is not None
    failed = [a for a in sandboxed if found[(outgoing.account.pk, a.email)] is None]
    if failed:
        raise not_verified(region.code, [(a.original, a.email) for a in failed])
    return identity


def _sandboxed(draft: _Draft, simulated: dict[str, str]) -> list[Address]:
    """The recipients the sandbox requires verified: each once, simulator addresses exempt."""
    unique: dict[str, Address] = {}
    for address in draft.recipients:
        if address.email not in simulated:
            unique.setdefault(address.email, address)
    return list(unique.values())


def _feedback_address(draft: _Draft, identity: Identity, outgoing: Outgoing) -> str:
    """Where bounces and complaints are forwarded: FeedbackForwardingEmailAddress (v1
    ReturnPath), else the envelope sender given (SMTP MAIL FROM, v1 Source, which win over a
    raw Return-Path header), else that header, else From; none when the identity has email
    feedback forwarding turned off (notifications instead)."""
    if not identity.feedback_forwarding_enabled:
        return ""
    if draft.feedback is not None:
        return draft.feedback.email
    for given in (outgoing.envelope_sender, outgoing.from_address if outgoing.raw else None):
        if given:
            return addresses.parse(given, "Source").email
    if draft.return_path is not None:
        return draft.return_path.email
    return draft.from_header.email


def _mail_from_domain(identity: Identity, region: Region) -> str:
    """The verified custom MAIL FROM domain, the default one, or MailFromDomainNotVerified."""
    if identity.mail_from_domain:
        if identity.mail_from_status == MailFromStatus.SUCCESS:
            return identity.mail_from_domain
        if identity.mail_from_behavior == "REJECT_MESSAGE":
            status = MailFromStatus(identity.mail_from_status or "PENDING").label
            raise SendRefused(
                RefusalKind.MAIL_FROM_NOT_VERIFIED,
                f"Mail FROM domain is not verified: the custom MAIL FROM domain "
                f"{identity.mail_from_domain} of {identity.name} is {status}, and its "
                "behavior on MX failure is Reject message. Publish its MX and SPF records, "
                "or choose Use default MAIL FROM domain.",
            )
    return envelope.default_mail_from_domain(region.code)
