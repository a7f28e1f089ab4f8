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
from django.db import IntegrityError, transaction

from accounts.models import Account, Region
from sesconsole import sql, validators

from .models import (
    BehaviorOnMxFailure,
    ConfigurationSet,
    Identity,
    IdentityCount,
    IdentityEvent,
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
class Replica:
    """A DEED replica of the same domain in another region (`origin`: AWS_SES_<REGION>)."""

    origin: str


@dataclass(frozen=True)
class NewIdentity:
    """Validated input for a new identity (forms and the API build this)."""

    identity_type: str
    name: str  # already normalised by validators
    # None: a domain without DKIM, verified by its legacy TXT record (v1 VerifyDomainIdentity).
    dkim: EasyDkim | Byodkim | Replica | None = field(default_factory=EasyDkim)
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


def insert_identity(queries: sql.TwoQueries, identity: Identity, created: IdentityEvent) -> int:
    """Insert a new identity and its "created" event as the first query of the create's
    transaction (`queries`), and return how many identities its account now has in its region:
    the count the insert's trigger keeps, which includes the new identity and stays locked
    until the transaction ends (see `check_identity_limit`).

    On PostgreSQL the two inserts are one statement, sent with the transaction's BEGIN and the
    count in one round trip: save() of the 44-column identity and of its event, then the count,
    were three round trips and most of a create's Python calls (BENCHMARKS.md, ninth session).
    """
    together = sql.insert_with_child(identity, created, "identity")
    if together is None:
        queries.first([])  # the transaction begins before the saves
        identity.save()
        created.identity = identity
        created.save()
        return identity_count(identity.account, identity.region)
    inserted_rows, count_rows = queries.first(
        [together, (_identity_count_sql(), [identity.account_id, identity.region_id])]
    )
    sql.inserted_with_child(identity, created, "identity", inserted_rows)
    [(count,)] = count_rows
    return int(count)


def check_identity_limit(account: Account, region: Region, count: int) -> None:
    """LimitExceededError if `account` has more identities (`count`) in `region` than SES
    allows.

    `create_identity` runs it after its insert, in the same transaction, on the count
    `insert_identity` read. The insert's trigger counted the new identity in the account's
    IdentityCount row for the region and holds that row's lock until the transaction ends, so
    concurrent creates in the same account and region queue at their insert: the count
    includes the new identity and every committed one, and no other create can commit in
    between.
    """
    limit = settings.MAX_IDENTITIES_PER_REGION
    if count > limit:
        raise validators.LimitExceededError(
            f"This account already has {limit:,} identities in {region.code}, the most SES "
            "allows per region. Delete identities you no longer use first.",
            code="limit",
        )


def identity_count(account: Account, region: Region) -> int:
    """How many identities `account` has in `region`, as the triggers keep it (IdentityCount):
    one indexed row, where a COUNT(*) read every identity of the account (1.4 ms of a 3.3 ms
    create at 2,000 identities, more as they grow). Plain SQL as a prepared statement: Django
    compiling the query cost more than running it."""
    with sql.prepared_cursor() as cursor:
        cursor.execute(_identity_count_sql(), [account.pk, region.pk])
        row = cursor.fetchone()
        return 0 if row is None else int(row[0])


@cache
def _identity_count_sql() -> str:
    return (
        f"SELECT {sql.column(IdentityCount, 'identities')} FROM {sql.table(IdentityCount)} "  # noqa: S608 (names from _meta only)
        f"WHERE {sql.column(IdentityCount, 'account')} = %s "
        f"AND {sql.column(IdentityCount, 'region')} = %s"
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
