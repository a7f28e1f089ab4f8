"""The two reads on the API's hot path as plain SELECTs, written once per process.

Django compiles a QuerySet to SQL each time it is evaluated. For these queries that costs more
than the database round trip itself (about 0.5 ms of Python against 0.15 ms on the benchmark
machine), and every API call starts with them: GetEmailIdentity used to make five ORM queries
(key, region, identity, tags, policies). Here the same rows come back in two statements:

- `signer`: the access key, its account and the signed-for region (when enabled), one JOIN;
- `identity_detail`: an identity with its tags and policies, aggregated as JSON in the row.

For a caller whose signature is already verified, `signer(..., identity_name=...)` reads both in
one statement (api.auth explains when): GetEmailIdentity then costs one round trip.

Table and column names come from the models' `_meta` and rows become model instances as the
ORM's own do (`sesconsole.sql`).
`tests/api/test_reads.py` checks the answers against the ORM's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from accounts.models import AccessKey, Account, Region
from identities.models import Identity, IdentityPolicy, Tag
from sesconsole import sql


@dataclass(frozen=True)
class IdentityDetail:
    identity: Identity
    tags: list[tuple[str, str]]  # (key, value), ordered by key
    policies: list[tuple[str, str]]  # (name, document), ordered by name


@dataclass(frozen=True)
class Preloaded:
    """The identity named `name` (as stored), read along with the signer; None: there is none."""

    name: str
    detail: IdentityDetail | None


@dataclass(frozen=True)
class Signer:
    """An active access key (with its account loaded) and the region it signed for."""

    key: AccessKey
    region: Region | None  # None: no such region, or the operator disabled it
    preloaded: Preloaded | None = None  # with signer(..., identity_name=...)


# What authentication and the operations use of the key and its account; other fields load on
# first access, as with QuerySet.only().
SIGNER_KEY_FIELDS = ("id", "account", "access_key_id", "secret_encrypted", "status", "last_used_at")
SIGNER_ACCOUNT_FIELDS = ("id", "name")


def signer(access_key_id: str, region_code: str, identity_name: str | None = None) -> Signer | None:
    """The active key named `access_key_id`, or None if there is none.

    With `identity_name`, the same statement also reads that identity of the key's account in
    the region, as `identity_detail` does. That reads tenant data before the caller is known to
    hold the key: use it only once the request's signature has been verified.
    """
    with_identity = identity_name is not None
    params: list[Any] = [region_code, True]
    if with_identity:
        params.append(identity_name)
    params += [access_key_id, AccessKey.Status.ACTIVE]
    with sql.prepared_cursor() as cursor:
        cursor.execute(_signer_sql(with_identity), params)
        row = cursor.fetchone()
    if row is None:
        return None
    key, offset = sql.instance(AccessKey, row, 0, SIGNER_KEY_FIELDS)
    key.account, offset = sql.instance(Account, row, offset, SIGNER_ACCOUNT_FIELDS)
    region = None
    if row[offset] is not None:  # the region's primary key: NULL when the LEFT JOIN missed
        region = sql.instance(Region, row, offset)[0]
    offset += sql.width(Region)
    preloaded = None
    if identity_name is not None:
        detail = None
        if region is not None and row[offset] is not None:  # the identity's primary key
            detail = _detail(row, offset, key.account, region)
        preloaded = Preloaded(name=identity_name, detail=detail)
    return Signer(key=key, region=region, preloaded=preloaded)


# What GetEmailIdentity answers with. Any other field of the identity loads on first access
# (one more query), as with QuerySet.only(); the rest of the row (check scheduling, leases,
# a dozen timestamps) would only cost decoding.
DETAIL_FIELDS = (
    "id", "account", "region", "identity_type", "name", "verification_status",
    "feedback_forwarding_enabled", "configuration_set_name",
    "dkim_signing_enabled", "dkim_status", "dkim_origin", "dkim_tokens", "dkim_next_key_length",
    "dkim_current_key_length", "dkim_last_key_generation_at",
    "mail_from_domain", "mail_from_status", "mail_from_behavior",
    "last_checked_at", "last_success_at", "verification_error",
    "soa_primary_name_server", "soa_admin_email", "soa_serial_number",
)  # fmt: skip


def identity_detail(account: Account, region: Region, name: str) -> IdentityDetail | None:
    """The identity `name` of `account` in `region` (`DETAIL_FIELDS`), with its tags and
    policies."""
    with sql.prepared_cursor() as cursor:
        cursor.execute(_identity_detail_sql(), [account.pk, region.pk, name])
        row = cursor.fetchone()
    if row is None:
        return None
    return _detail(row, 0, account, region)


def _detail(row: tuple[Any, ...], offset: int, account: Account, region: Region) -> IdentityDetail:
    """The identity whose `_identity_columns` start at row[offset]."""
    identity, offset = sql.instance(Identity, row, offset, DETAIL_FIELDS)
    identity.account = account
    identity.region = region
    return IdentityDetail(
        identity=identity, tags=_pairs(row[offset]), policies=_pairs(row[offset + 1])
    )


# --- SQL, built from _meta on first use -------------------------------------------------------
# The SQL below is put together from model metadata (table and column names) only; every
# value is a query parameter, hence the S608 ("SQL built from strings") exemptions.
@cache
def _signer_sql(with_identity: bool) -> str:
    key_account, key_id = sql.column(AccessKey, "account"), sql.column(AccessKey, "access_key_id")
    region_code = sql.column(Region, "code")
    selected = (
        f"{sql.columns(AccessKey, 'k', SIGNER_KEY_FIELDS)}, "
        f"{sql.columns(Account, 'a', SIGNER_ACCOUNT_FIELDS)}, {sql.columns(Region, 'r')}"
    )
    joins = (
        f"FROM {sql.table(AccessKey)} k JOIN {sql.table(Account)} a "
        f"ON a.{sql.column(Account, 'id')} = k.{key_account} "
        f"LEFT JOIN {sql.table(Region)} r "
        f"ON r.{region_code} = %s AND r.{sql.column(Region, 'enabled')} = %s"
    )
    if with_identity:
        selected += f", {_identity_columns()}"
        joins += (
            f" LEFT JOIN {sql.table(Identity)} i "
            f"ON i.{sql.column(Identity, 'account')} = k.{key_account} "
            f"AND i.{sql.column(Identity, 'region')} = r.{region_code} "
            f"AND i.{sql.column(Identity, 'name')} = %s"
        )
    return (
        f"SELECT {selected} {joins} "
        f"WHERE k.{key_id} = %s AND k.{sql.column(AccessKey, 'status')} = %s"
    )


@cache
def _identity_detail_sql() -> str:
    return (
        f"SELECT {_identity_columns()} FROM {sql.table(Identity)} i "  # noqa: S608
        f"WHERE i.{sql.column(Identity, 'account')} = %s "
        f"AND i.{sql.column(Identity, 'region')} = %s AND i.{sql.column(Identity, 'name')} = %s"
    )


def _identity_columns() -> str:
    """The identity `i`'s DETAIL_FIELDS, then its tags and its policies as JSON (`_detail`)."""
    tags = _json_pairs(Tag, "key", "value", parent="identity")
    policies = _json_pairs(IdentityPolicy, "name", "document", parent="identity")
    return f"{sql.columns(Identity, 'i', DETAIL_FIELDS)}, {tags}, {policies}"


def _json_pairs(model: type[Model], first: str, second: str, *, parent: str) -> str:
    """A scalar subquery: the child rows of `i` as a JSON array of [first, second], by first."""
    table = sql.table(model)
    a, b, fk = sql.column(model, first), sql.column(model, second), sql.column(model, parent)
    if connection.vendor == "postgresql":
        return (
            f"(SELECT json_agg(json_build_array(c.{a}, c.{b}) ORDER BY c.{a}) "  # noqa: S608
            f"FROM {table} c WHERE c.{fk} = i.{sql.column(Identity, 'id')})"
        )
    # SQLite before 3.44 has no ORDER BY inside an aggregate; it aggregates in the order of
    # an ordered subquery.
    return (
        f"(SELECT json_group_array(json_array(c.{a}, c.{b})) FROM (SELECT {a}, {b} FROM {table} "  # noqa: S608
        f"WHERE {fk} = i.{sql.column(Identity, 'id')} ORDER BY {a}) c)"
    )


def _pairs(aggregated: Any) -> list[tuple[str, str]]:
    if aggregated is None:  # PostgreSQL's json_agg over no rows
        return []
    if isinstance(aggregated, str):  # SQLite returns the JSON text
        aggregated = json.loads(aggregated)
    return [(first, second) for first, second in aggregated]
