"""The input of a new identity and the cross-object rules its creation checks.

`NewIdentity` is what forms and the APIs build for `operations.create_identity`; the rules that
look beyond one field live here (the per-region limit, the default configuration set existing
in the same region); field rules live in validators.py. Creating configuration sets too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from accounts.models import Account, Region
from sesconsole import sql

from . import validators
from .models import (
    BehaviorOnMxFailure,
    ConfigurationSet,
    Identity,
    KeyLength,
    Tag,
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
    dkim: EasyDkim | Byodkim = field(default_factory=EasyDkim)
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
