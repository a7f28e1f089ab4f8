"""Every change to an identity, one function each, for every entry point.

The console (views.py, dns_views.py), the v2 API (api/identities.py, api/tags.py), the v1 API,
admin (actions, saves and inlines), management commands and tasks change an identity only
through these functions. Each one:

1. validates its input with the shared validators (forms call the same validators first, for
   messages next to their fields; the validators are idempotent, so running them twice is
   harmless);
2. applies the change through the model's verb-named methods, in one transaction;
3. records one IdentityEvent with `actor`, a string built by `accounts.actors` (console user,
   `API <key id>`, `admin <user>`, `system (<job>)`);
4. queues follow-up work for once the transaction commits (`identities.queue`): Easy DKIM keys,
   the first DNS check, "Check now", a new address's verification mail. No entry point queues
   any of these itself, and no entry point records an identity's history itself.

Errors are `ValidationError` (or the validators' AlreadyExists/LimitExceeded/NotFound
subclasses) with a full sentence; the API maps them to SES error codes, forms show them.

The operations, by what they change (names as the other entry points call them):

- `create_identity(account, region, spec)`: a domain or an email address (spec.identity_type);
  `create_domain_identity` and `create_email_identity` are the same function with the type
  set, for callers that only ever create one kind (the v1 API's Verify* actions).
- `delete_identity`, `delete_identities` (bulk delete); the history goes with the identity,
  so the deletion and its actor are logged instead.
- DKIM: `set_dkim_signing`, `set_dkim_key_length`, `use_easy_dkim`, `use_byodkim`.
- `set_mail_from` (an empty domain clears it), `set_configuration_set` ("" removes it),
  `set_feedback_forwarding`.
- Tags (50 at most): `set_tags` (replace the whole set: console, admin), `tag` (add or
  overwrite keys: TagResource), `untag`.
- Sending authorization policies (20 at most): `create_policy`, `update_policy`, `put_policy`
  (create or replace: v1 PutIdentityPolicy), `delete_policy`. Unverified identities accept policies, as AWS does (its API reference says
  otherwise; Terraform's acceptance tests, run against AWS, attach policies to unverified
  identities): a policy only matters once the identity can send.
- `check_now`, `verify_without_dns`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import actors
from accounts.models import Account, Region
from sesconsole import sql, validators

from . import provisioning, queue, replicas
from .models import (
    BehaviorOnMxFailure,
    DkimKey,
    DkimOrigin,
    Identity,
    IdentityEvent,
    IdentityPolicy,
    IdentityType,
    KeyLength,
    Tag,
    VerificationStatus,
)
from .provisioning import AUTO_VERIFY_MESSAGE, Byodkim, EasyDkim, NewIdentity, Replica

log = logging.getLogger(__name__)

MAX_POLICIES_PER_IDENTITY = 20


# --- create and delete --------------------------------------------------------------------------
def create_identity(account: Account, region: Region, spec: NewIdentity, *, actor: str) -> Identity:
    """Save a new identity as PENDING and queue its background work.

    1. check the configuration set (a read: it takes no lock, so it need not be in the
       transaction);
    2. in one transaction: insert the identity (uniqueness) with its "created" event, check the
       region limit on the count the insert's trigger keeps, locked until commit
       (provisioning.check_identity_limit), then save its tags and (BYODKIM) its key. Its BEGIN
       goes with the insert and its COMMIT alone (`sql.transaction_in_two_queries`): three
       round trips with the API's key read where `transaction.atomic()` made four;
    3. after commit, queue its first work: a domain's Easy DKIM keys and first DNS check (or
       the publication of its records), an address's verification mail.
    """
    identity = _new_identity(account, region, spec)
    provisioning.check_configuration_set_exists(account, region, spec.configuration_set_name)
    byodkim = spec.dkim if isinstance(spec.dkim, Byodkim) and identity.is_domain else None
    auto_verify = settings.DNS_AUTO_VERIFY and identity.is_domain
    # Rows saved through the ORM may enter atomic() themselves (bulk_create does), which an
    # open two-query transaction forbids: those creates run in atomic(), where the two queries
    # are that transaction. A plain create (the usual API call) needs none.
    more_rows = bool(spec.tags) or byodkim is not None or auto_verify
    try:
        with (
            transaction.atomic() if more_rows else nullcontext(),
            sql.transaction_in_two_queries() as queries,
        ):
            count = provisioning.insert_identity(
                queries,
                identity,
                IdentityEvent(
                    identity=identity,
                    kind="created",
                    message=f"{identity.get_identity_type_display()} identity created.",
                    actor=actor,
                ),
            )
            provisioning.check_identity_limit(account, region, count)
            Tag.objects.bulk_create(
                [Tag(identity=identity, key=t.key, value=t.value) for t in spec.tags]
            )
            if byodkim is not None:
                DkimKey.store(
                    identity,
                    byodkim.selector,
                    byodkim.key.base64_der,
                    byodkim.key.public_key_base64,
                    byodkim.key.key_size,
                )
            if auto_verify:
                identity.verify_without_dns(
                    AUTO_VERIFY_MESSAGE,
                    now=identity.created_at,
                    actor=actors.system("DNS_AUTO_VERIFY"),
                )
            queries.last()
    except IntegrityError as exc:
        raise validators.AlreadyExistsError(
            f"{spec.name} already exists as an identity in {region.code}.", code="already_exists"
        ) from exc
    log.info(
        "identity created identity=%s type=%s region=%s account=%s actor=%s",
        identity.pk,
        identity.identity_type,
        region.code,
        account.pk,
        actor,
    )
    if identity.is_domain:
        then = (
            "publish" if spec.publish_records else "none" if settings.DNS_AUTO_VERIFY else "check"
        )
        queue.start_domain(identity.pk, then)
    else:
        queue.start_email_verification(identity.pk)
    return identity


def create_domain_identity(
    account: Account, region: Region, spec: NewIdentity, *, actor: str
) -> Identity:
    return create_identity(
        account, region, replace(spec, identity_type=IdentityType.DOMAIN), actor=actor
    )


def create_email_identity(
    account: Account, region: Region, spec: NewIdentity, *, actor: str
) -> Identity:
    return create_identity(
        account, region, replace(spec, identity_type=IdentityType.EMAIL_ADDRESS), actor=actor
    )


def _new_identity(account: Account, region: Region, spec: NewIdentity) -> Identity:
    identity = Identity(
        account=account,
        region=region,
        identity_type=spec.identity_type,
        name=spec.name,
        configuration_set_name=spec.configuration_set_name,
    )
    if spec.identity_type == IdentityType.EMAIL_ADDRESS:
        # SES defaults for an address: no DKIM of its own until its domain has one.
        identity.dkim_signing_enabled = False
        identity.dkim_status = VerificationStatus.NOT_STARTED
        identity.dkim_next_key_length = KeyLength.RSA_1024_BIT
        identity.verification_status = VerificationStatus.PENDING
        return identity
    identity.dkim_signing_enabled = spec.dkim_signing_enabled and spec.dkim is not None
    if isinstance(spec.dkim, Byodkim):
        identity.start_byodkim(spec.dkim.selector)
        identity.dkim_current_key_length = KeyLength.for_key_size(spec.dkim.key.key_size)
    elif isinstance(spec.dkim, EasyDkim):
        identity.start_easy_dkim(spec.dkim.key_length)
    elif isinstance(spec.dkim, Replica):
        identity.dkim_origin = spec.dkim.origin
        parent, problem = replicas.parent_for(account, region, spec.name, spec.dkim.origin)
        identity.follow_parent(parent, problem, identity.created_at)
    if spec.legacy_verification:
        identity.begin_legacy_verification(identity.created_at)
    if spec.mail_from_domain:
        identity.mail_from_domain = spec.mail_from_domain
        identity.mail_from_behavior = spec.mail_from_behavior
        identity.mail_from_status = "PENDING"
        identity.mail_from_status_changed_at = identity.created_at
    identity.next_check_at = identity.created_at
    return identity


def delete_identities(identities: Sequence[Identity], *, actor: str) -> int:
    """Delete identities (tags, keys, checks and history go with them); how many."""
    ids = [identity.pk for identity in identities]
    orphans = list(
        Identity.objects.filter(dkim_parent_id__in=ids)
        .exclude(pk__in=ids)
        .values_list("pk", flat=True)
    )
    deleted, _ = Identity.objects.filter(pk__in=ids).delete()
    replicas.orphan(orphans)  # DEED replicas of a deleted parent fail
    if deleted:
        log.info(
            "identities deleted names=%s actor=%s", ",".join(i.name for i in identities), actor
        )
    return len(ids) if deleted else 0


def delete_identity(identity: Identity, *, actor: str) -> None:
    delete_identities([identity], actor=actor)


# --- DKIM -----------------------------------------------------------------------------------------
def _require_domain(identity: Identity, what: str) -> None:
    if not identity.is_domain:
        raise ValidationError(
            f"{what} can be set for domain identities only. An email address is signed with "
            "the DKIM setup of its verified domain.",
            code="invalid",
        )


def set_dkim_signing(identity: Identity, enabled: bool, *, actor: str) -> None:
    """The identity's DKIM SigningEnabled switch. A request for the current value changes
    nothing and records nothing. (Whether mail is signed is `hierarchy.dkim_signing_identity`'s
    answer, which looks at the covering domain's switch.)"""
    if enabled == identity.dkim_signing_enabled:
        return
    with transaction.atomic():
        identity.set_dkim_signing(enabled)
        word = "enabled" if enabled else "disabled"
        IdentityEvent.record(identity, "dkim_signing", f"DKIM signing {word}.", actor)


def _validate_key_length(length: str) -> str:
    if length not in KeyLength.values:
        raise ValidationError(
            f"The DKIM key length must be one of {', '.join(KeyLength.values)}; {length} is not.",
            code="invalid",
        )
    return length


def set_dkim_key_length(
    identity: Identity, length: str, *, actor: str, now: datetime | None = None
) -> None:
    """Rotate Easy DKIM to another key length (SES's once-a-day rule in the model), then
    generate the new keys."""
    _require_domain(identity, "The DKIM key length")
    _validate_key_length(length)
    with transaction.atomic():
        identity.change_easy_dkim_key_length(length, now)
        IdentityEvent.record(
            identity, "dkim_key_length", f"DKIM key length set to {length}.", actor
        )
        replicas.follow([identity.pk])
    queue.easy_dkim_keys(identity.pk)


def use_easy_dkim(identity: Identity, key_length: str | None = None, *, actor: str) -> None:
    """Easy DKIM: from BYODKIM or from no DKIM at all, fresh tokens and keys (2048-bit unless
    `key_length` says); already Easy DKIM, a `key_length` is `set_dkim_key_length` and None
    changes nothing."""
    _require_domain(identity, "DKIM signing attributes")
    if identity.dkim_origin == DkimOrigin.AWS_SES and identity.dkim_tokens:
        if key_length:
            set_dkim_key_length(identity, key_length, actor=actor)
        return
    # From BYODKIM, from following a DEED parent, or a v1 domain verified by its TXT record
    # alone (no DKIM yet).
    length = _validate_key_length(key_length or KeyLength.RSA_2048_BIT)
    first_dkim = not identity.dkim_tokens
    with transaction.atomic():
        identity.switch_to_easy_dkim(length)
        if first_dkim and not identity.dkim_signing_enabled:
            # A domain that had no DKIM signs once it has some (v1 VerifyDomainDkim, as in SES).
            identity.set_dkim_signing(True)
        IdentityEvent.record(
            identity, "dkim_easy", f"DKIM switched to Easy DKIM ({length}).", actor
        )
        replicas.follow([identity.pk])
    queue.easy_dkim_keys(identity.pk)


def use_byodkim(
    identity: Identity, selector: str, key: validators.ParsedPrivateKey, *, actor: str
) -> None:
    """BYODKIM with this selector and (already parsed) private key; DKIM starts over."""
    _require_domain(identity, "DKIM signing attributes")
    selector = validators.validate_selector(selector)
    with transaction.atomic():
        identity.switch_to_byodkim(selector, key.base64_der, key.public_key_base64, key.key_size)
        message = f"DKIM set to BYODKIM with selector {selector} ({key.key_size}-bit key)."
        IdentityEvent.record(identity, "dkim_byodkim", message, actor)
        replicas.follow([identity.pk])


# --- MAIL FROM, configuration set, feedback ---------------------------------------------------------
def set_mail_from(identity: Identity, domain: str, behavior: str = "", *, actor: str) -> None:
    """Set the custom MAIL FROM domain and the behaviour on MX failure; an empty domain turns
    custom MAIL FROM off. A new domain restarts its DNS check (the model schedules it)."""
    behavior = behavior or BehaviorOnMxFailure.USE_DEFAULT_VALUE
    if behavior not in BehaviorOnMxFailure.values:
        raise ValidationError(
            f"BehaviorOnMxFailure must be one of {', '.join(BehaviorOnMxFailure.values)}.",
            code="invalid",
        )
    with transaction.atomic():
        if domain:
            domain = validators.normalize_mail_from_domain(domain, identity.domain)
            identity.set_mail_from(domain, behavior)
            message = f"Custom MAIL FROM domain set to {domain}."
        else:
            identity.clear_mail_from()
            message = "Custom MAIL FROM domain removed."
        IdentityEvent.record(identity, "mail_from", message, actor)


def set_configuration_set(identity: Identity, name: str, *, actor: str) -> bool:
    """The default configuration set ("" removes it); it must exist in the identity's region.
    Setting the one it already has changes nothing and records nothing: False."""
    if name == identity.configuration_set_name:
        return False
    provisioning.check_configuration_set_exists(identity.account, identity.region, name)
    with transaction.atomic():
        identity.set_configuration_set(name)
        message = (
            f"Default configuration set set to {name}."
            if name
            else "Default configuration set removed."
        )
        IdentityEvent.record(identity, "configuration_set", message, actor)
    return True


def set_feedback_forwarding(identity: Identity, enabled: bool, *, actor: str) -> None:
    with transaction.atomic():
        identity.set_feedback_forwarding(enabled)
        message = f"Email feedback forwarding {'enabled' if enabled else 'disabled'}."
        IdentityEvent.record(identity, "feedback_forwarding", message, actor)


# --- SES v1: legacy TXT verification, notification topics ----------------------------------------
def start_legacy_verification(identity: Identity, *, actor: str) -> str:
    """v1 VerifyDomainIdentity on an existing domain: look for its `_amazonses` TXT record
    (again, if that FAILED); returns the domain's token, which stays the same."""
    _require_domain(identity, "Domain verification by TXT record")
    with transaction.atomic():
        if identity.start_legacy_verification():
            message = "Verification by TXT record at _amazonses started."
            IdentityEvent.record(identity, "legacy_verification", message, actor)
        token = identity.ensure_verification_token()
    queue.check_now(identity.pk)
    return token


def set_notification_topic(
    identity: Identity, notification_type: str, topic_arn: str, *, actor: str
) -> None:
    """Store (or with "" clear) the SNS topic of one notification type (nothing is published:
    sesconsole has no SNS). Only verified identities take topics, as in SES."""
    if not identity.verified_for_sending:
        raise ValidationError(
            f"Invalid identity {identity.name}: Must be a verified email address or domain.",
            code="not_verified",
        )
    if topic_arn:
        topic_arn = validators.validate_sns_topic_arn(topic_arn)
    with transaction.atomic():
        identity.set_notification_topic(notification_type, topic_arn)
        message = (
            f"{notification_type} notifications sent to {topic_arn}."
            if topic_arn
            else f"{notification_type} notification topic removed."
        )
        IdentityEvent.record(identity, "notifications", message, actor)


def set_headers_in_notifications(
    identity: Identity, notification_type: str, enabled: bool, *, actor: str
) -> None:
    with transaction.atomic():
        identity.set_headers_in_notifications(notification_type, enabled)
        word = "included in" if enabled else "left out of"
        message = f"Original headers {word} {notification_type.lower()} notifications."
        IdentityEvent.record(identity, "notifications", message, actor)


# --- tags ----------------------------------------------------------------------------------------
def _record_tags(identity: Identity, actor: str) -> None:
    # The same event whichever way the tags changed: the resulting count.
    count = identity.tags.count()
    message = f"Tags saved: {count} tag{'' if count == 1 else 's'}."
    IdentityEvent.record(identity, "tags", message, actor)


def set_tags(identity: Identity, pairs: Iterable[tuple[str, str]], *, actor: str) -> None:
    """Replace the identity's tags with `pairs` (at most 50, unique keys)."""
    tags = validators.validate_tags([(key, value) for key, value in pairs])
    with transaction.atomic():
        identity.tags.all().delete()
        Tag.objects.bulk_create([Tag(identity=identity, key=t.key, value=t.value) for t in tags])
        _record_tags(identity, actor)


def tag(identity: Identity, pairs: Iterable[tuple[str, str]], *, actor: str) -> None:
    """Add tags; a key the identity has already gets the new value (AWS's tagging APIs)."""
    with transaction.atomic():
        existing = frozenset(identity.tags.values_list("key", flat=True))
        tags = validators.validate_tags(
            [(key, value) for key, value in pairs], existing_keys=existing
        )
        identity.tags.filter(key__in=[t.key for t in tags]).delete()
        Tag.objects.bulk_create([Tag(identity=identity, key=t.key, value=t.value) for t in tags])
        _record_tags(identity, actor)


def untag(identity: Identity, keys: Iterable[str], *, actor: str) -> None:
    with transaction.atomic():
        identity.tags.filter(key__in=list(keys)).delete()
        _record_tags(identity, actor)


# --- sending authorization policies ---------------------------------------------------------------
def create_policy(identity: Identity, name: str, document: str, *, actor: str) -> IdentityPolicy:
    """Attach a new policy; at most 20 per identity, verified or not (module docstring)."""
    name = validators.validate_policy_name(name)
    document = validators.validate_policy_document(document)
    if identity.policies.filter(name=name).exists():
        raise validators.AlreadyExistsError(
            f"The identity {identity.name} already has a policy named {name}. Update it instead.",
            code="already_exists",
        )
    if identity.policies.count() >= MAX_POLICIES_PER_IDENTITY:
        raise validators.LimitExceededError(
            f"The identity {identity.name} already has {MAX_POLICIES_PER_IDENTITY} policies, "
            "the most SES allows. Delete one first.",
            code="limit",
        )
    try:
        with transaction.atomic():
            policy = IdentityPolicy.objects.create(identity=identity, name=name, document=document)
            IdentityEvent.record(identity, "policy", f"Policy {name} created.", actor)
    except IntegrityError as exc:
        raise validators.AlreadyExistsError(
            f"The identity {identity.name} already has a policy named {name}.",
            code="already_exists",
        ) from exc
    return policy


def update_policy(identity: Identity, name: str, document: str, *, actor: str) -> None:
    """Replace a policy's document; like SES, a missing policy is not an error (and no event)."""
    name = validators.validate_policy_name(name)
    document = validators.validate_policy_document(document)
    with transaction.atomic():
        updated = identity.policies.filter(name=name).update(
            document=document, updated_at=timezone.now()
        )
        if updated:
            IdentityEvent.record(identity, "policy", f"Policy {name} updated.", actor)


def put_policy(identity: Identity, name: str, document: str, *, actor: str) -> None:
    """Create the policy, or replace its document if it exists (v1 PutIdentityPolicy)."""
    if identity.policies.filter(name=validators.validate_policy_name(name)).exists():
        update_policy(identity, name, document, actor=actor)
    else:
        create_policy(identity, name, document, actor=actor)


def delete_policy(identity: Identity, name: str, *, actor: str) -> None:
    """Remove a policy; a missing one is not an error (SES), and records nothing."""
    with transaction.atomic():
        deleted, _ = identity.policies.filter(name=name).delete()
        if deleted:
            IdentityEvent.record(identity, "policy", f"Policy {name} deleted.", actor)


# --- DNS ------------------------------------------------------------------------------------------
def check_now(identity: Identity, *, actor: str) -> bool:
    """ "Check now": due at once (a FAILED setup restarts) and a check queued. False for an
    email address without a custom MAIL FROM domain: DNS has nothing to check for it."""
    with transaction.atomic():
        if not identity.request_check_now(actor=actor):
            return False
        IdentityEvent.record(identity, "check_now", "DNS check requested.", actor)
        replicas.follow([identity.pk])
    queue.check_now(identity.pk)
    return True


def verify_without_dns(identity: Identity, message: str, *, actor: str) -> None:
    """Verified at once without DNS (admin "Mark verified (skip DNS)"); see the model method."""
    with transaction.atomic():
        identity.verify_without_dns(message, actor=actor)
        replicas.follow([identity.pk])
