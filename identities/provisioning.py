"""Creating and deleting identities: the one path used by the console and the API.

Cross-object rules live here (the per-region limit, uniqueness, the default configuration
set existing in the same region); field rules live in validators.py. Slow work (RSA keys,
DNS checks, verification mails) is queued after the transaction commits, never done inline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account, Region
from sesconsole import sql
from sesconsole.enqueue import enqueue_after_commit

from . import validators
from .models import (
    BehaviorOnMxFailure,
    ConfigurationSet,
    DkimKey,
    Identity,
    IdentityEvent,
    IdentityPolicy,
    IdentityType,
    KeyLength,
    Tag,
    VerificationStatus,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EasyDkim:
    key_length: str = KeyLength.RSA_2048_BIT


@dataclass(frozen=True)
class Byodkim:
    selector: str
    key: validators.ParsedPrivateKey


@dataclass(frozen=True)
class NewIdentity:
    """Validated input for a new identity (forms and the API build this)."""

    identity_type: str
    name: str  # already normalised by validators
    # None: a domain without DKIM, verified by its legacy TXT record (v1 VerifyDomainIdentity).
    dkim: EasyDkim | Byodkim | None = field(default_factory=EasyDkim)
    # Domains: also look for the `_amazonses` TXT record (SES v1 verification).
    legacy_verification: bool = False
    dkim_signing_enabled: bool = True
    mail_from_domain: str = ""
    mail_from_behavior: str = BehaviorOnMxFailure.USE_DEFAULT_VALUE
    configuration_set_name: str = ""
    tags: Sequence[validators.TagPair] = ()
    # Domains: publish the records to the account's DNS server once created (the wizard's option).
    publish_records: bool = False


AUTO_VERIFY_MESSAGE = "Verified at once because DNS_AUTO_VERIFY is on (no DNS check)."


def check_configuration_set_exists(account: Account, region: Region, name: str) -> None:
    if (
        name
        and not ConfigurationSet.objects.filter(account=account, region=region, name=name).exists()
    ):
        raise validators.NotFoundError(
            f"The configuration set {name} doesn't exist in {region.code}. Create it first, or "
            "choose one that exists in this region.",
            code="not_found",
        )


def check_identity_limit(account: Account, region: Region) -> None:
    """LimitExceededError if `account` now has more identities in `region` than SES allows.

    `create_identity` runs it last in its transaction, after its insert: under the account's
    lock (`_lock_account_for_create`) the count then includes the new identity and every
    committed one, and no other create can commit in between.
    """
    _lock_account_for_create(account)
    limit = settings.MAX_IDENTITIES_PER_REGION
    if identity_count(account, region) > limit:
        raise validators.LimitExceededError(
            f"This account already has {limit:,} identities in {region.code}, the most SES "
            "allows per region. Delete identities you no longer use first.",
            code="limit",
        )


def _lock_account_for_create(account: Account) -> None:
    """Make an account's creates wait for each other until their transactions end, so that the
    limit check and the insert are one step: without it two creates at 9,999 identities both
    count 9,999 and both insert. Taken last, just before the commit, so that concurrent creates
    queue only for the count and the commit, not for their inserts as well.

    On PostgreSQL this locks the account's row FOR NO KEY UPDATE, the weakest lock two creates
    conflict on: inserts elsewhere that reference the account only take FOR KEY SHARE for their
    foreign key check, which it leaves alone. SQLite (development only) has no row locks; there
    the check runs without one, as before.
    """
    if connection.vendor != "postgresql":
        return
    with sql.prepared_cursor() as cursor:
        cursor.execute(_account_lock_sql(), [account.pk])


@cache
def _account_lock_sql() -> str:
    return (
        f"SELECT 1 FROM {sql.table(Account)} "  # noqa: S608 (names from _meta only)
        f"WHERE {sql.column(Account, 'id')} = %s FOR NO KEY UPDATE"
    )


def identity_count(account: Account, region: Region) -> int:
    """How many identities `account` has in `region`: `in_scope(...).count()`, as one prepared
    statement. Every create runs it, and Django compiling the COUNT query cost more than
    PostgreSQL counting 2,000 identities (0.4–0.6 ms against 0.3 ms)."""
    with sql.prepared_cursor() as cursor:
        cursor.execute(_identity_count_sql(), [account.pk, region.pk])
        return int(cursor.fetchone()[0])


@cache
def _identity_count_sql() -> str:
    return (
        f"SELECT count(*) FROM {sql.table(Identity)} "  # noqa: S608 (names from _meta only)
        f"WHERE {sql.column(Identity, 'account')} = %s AND {sql.column(Identity, 'region')} = %s"
    )


def create_identity(
    account: Account, region: Region, spec: NewIdentity, actor: str = ""
) -> Identity:
    """Save a new identity as PENDING and queue its background work.

    1. in one transaction: check the configuration set, save the identity (uniqueness), its
       tags and (BYODKIM) its key, then check the region limit under the account's lock;
    2. after commit, queue RSA key generation (Easy DKIM) and the first check or mail.
    """
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
    else:
        identity.dkim_signing_enabled = spec.dkim_signing_enabled and spec.dkim is not None
        if isinstance(spec.dkim, Byodkim):
            identity.start_byodkim(spec.dkim.selector)
            identity.dkim_current_key_length = (
                KeyLength.RSA_1024_BIT if spec.dkim.key.key_size <= 1024 else KeyLength.RSA_2048_BIT
            )
        elif isinstance(spec.dkim, EasyDkim):
            identity.start_easy_dkim(spec.dkim.key_length)
        if spec.legacy_verification:
            identity.begin_legacy_verification(identity.created_at)
        if spec.mail_from_domain:
            identity.mail_from_domain = spec.mail_from_domain
            identity.mail_from_behavior = spec.mail_from_behavior
            identity.mail_from_status = "PENDING"
            identity.mail_from_status_changed_at = identity.created_at
        identity.next_check_at = identity.created_at
    try:
        with transaction.atomic():
            check_configuration_set_exists(account, region, spec.configuration_set_name)
            identity.save()
            Tag.objects.bulk_create(
                [Tag(identity=identity, key=t.key, value=t.value) for t in spec.tags]
            )
            if isinstance(spec.dkim, Byodkim) and identity.is_domain:
                key = spec.dkim.key
                DkimKey.store(
                    identity,
                    spec.dkim.selector,
                    key.base64_der,
                    key.public_key_base64,
                    key.key_size,
                )
            IdentityEvent.record(
                identity,
                "created",
                f"{identity.get_identity_type_display()} identity created.",
                actor,
            )
            if settings.DNS_AUTO_VERIFY and identity.is_domain:
                identity.verify_without_dns(AUTO_VERIFY_MESSAGE, now=identity.created_at)
            check_identity_limit(account, region)
    except IntegrityError as exc:
        raise validators.AlreadyExistsError(
            f"{spec.name} already exists as an identity in {region.code}.", code="already_exists"
        ) from exc
    log.info(
        "identity created identity=%s type=%s region=%s account=%s",
        identity.pk,
        identity.identity_type,
        region.code,
        account.pk,
    )
    _queue_after_create(identity, publish_records=spec.publish_records)
    return identity


def _queue_after_create(identity: Identity, *, publish_records: bool) -> None:
    """Slow work, queued for once the identity is committed. A domain: its Easy DKIM keys, then
    the first DNS check — or, when asked, the publication of its records, which queues that
    check itself once they are in place. An email address: the verification mail."""
    from . import tasks  # tasks import models; import late to keep this module import-light

    if not identity.is_domain:
        from verification.flows import start_identity_verification

        transaction.on_commit(partial(start_identity_verification, identity_id=identity.pk))
        return
    then = "publish" if publish_records else "none" if settings.DNS_AUTO_VERIFY else "check"
    enqueue_after_commit(tasks.start_domain_identity, identity_id=identity.pk, then=then)


def queue_easy_dkim_keys(identity: Identity) -> None:
    """After a DKIM change that needs new Easy DKIM keys, generate them once committed."""
    from . import tasks

    enqueue_after_commit(tasks.generate_easy_dkim_keys, identity_id=identity.pk)


def create_configuration_set(
    account: Account,
    region: Region,
    name: str,
    *,
    sending_enabled: bool = True,
    options: dict[str, object] | None = None,
    tags: Sequence[validators.TagPair] = (),
) -> ConfigurationSet:
    """Create a configuration set (name already validated); AlreadyExistsError if taken."""
    try:
        with transaction.atomic():
            configuration_set = ConfigurationSet.objects.create(
                account=account,
                region=region,
                name=name,
                sending_enabled=sending_enabled,
                options=options or {},
            )
            Tag.objects.bulk_create(
                [Tag(configuration_set=configuration_set, key=t.key, value=t.value) for t in tags]
            )
    except IntegrityError as exc:
        raise validators.AlreadyExistsError(
            f"A configuration set named {name} already exists in {region.code}. Choose another name.",
            code="already_exists",
        ) from exc
    return configuration_set


def identity_exists(account: Account, region: Region, name: str) -> bool:
    return Identity.objects.in_scope(account, region).filter(name=name).exists()


def delete_identities(identities: Sequence[Identity]) -> int:
    """Delete identities (tags, keys, checks and history go with them)."""
    ids = [identity.pk for identity in identities]
    deleted, _ = Identity.objects.filter(pk__in=ids).delete()
    return len(ids) if deleted else 0


def replace_tags(identity: Identity, tags: Sequence[validators.TagPair]) -> None:
    with transaction.atomic():
        identity.tags.all().delete()
        Tag.objects.bulk_create([Tag(identity=identity, key=t.key, value=t.value) for t in tags])


def assert_domain(identity: Identity) -> None:
    if not identity.is_domain:
        raise ValidationError("This setting applies to domain identities only.", code="invalid")


MAX_POLICIES_PER_IDENTITY = 20


def _require_verified_for_policies(identity: Identity) -> None:
    # The SES model: policy operations "return an error if you have not verified the identity".
    if not identity.verified_for_sending:
        raise ValidationError(
            f"{identity.name} is not verified. Verify the identity before you attach sending "
            "authorization policies to it.",
            code="not_verified",
        )


def create_policy(identity: Identity, name: str, document: str) -> IdentityPolicy:
    """Attach a new policy (name and document already validated); at most 20 per identity."""
    _require_verified_for_policies(identity)
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
            return IdentityPolicy.objects.create(identity=identity, name=name, document=document)
    except IntegrityError as exc:
        raise validators.AlreadyExistsError(
            f"The identity {identity.name} already has a policy named {name}.",
            code="already_exists",
        ) from exc


def update_policy(identity: Identity, name: str, document: str) -> None:
    """Replace a policy's document; like SES, a missing policy is not an error."""
    _require_verified_for_policies(identity)
    identity.policies.filter(name=name).update(document=document, updated_at=timezone.now())


def delete_policy(identity: Identity, name: str) -> None:
    identity.policies.filter(name=name).delete()
