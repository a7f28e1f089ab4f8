"""Which identity's settings apply to a sender address (docs/design.md, flow 4).

SES's rule (creating-identities.md): a verified email address identity wins; otherwise the
most specific verified domain, walking up the labels (user@a.b.example.com → a.b.example.com
→ b.example.com → example.com). Email addresses are case-sensitive, domains are not, and a
`+label` in the local part maps to the address without it. Everything that needs "is this From
address verified?" — template FromEmailAddress, test sends, DKIM signing — asks this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import idna

from accounts.models import Account, Region
from sesconsole import sql, validators

from .models import DkimKey, Identity, IdentityQuerySet, IdentityType, VerificationStatus


@dataclass(frozen=True)
class Lookup:
    """The answer with its reasoning, for the console's "Which identity applies?" box."""

    address: str
    email_candidate: str  # the address with any +label removed
    domain_candidates: list[str]  # most specific first
    identity: Identity | None
    unverified: list[Identity]  # candidates that exist but are not verified


def split_address(address: str) -> tuple[str, str] | None:
    """(address without +label, domain in IDNA lower case), or None if it isn't an address."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    base_local = local.split("+", 1)[0] or local
    try:
        ascii_domain = validators.ascii_domain(domain.rstrip("."))
    except idna.IDNAError:
        ascii_domain = domain.lower()
    return f"{base_local}@{domain}", ascii_domain


def domain_candidates(domain: str) -> list[str]:
    """a.b.example.com → [a.b.example.com, b.example.com, example.com] (no bare TLD)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _in_scope(account: Account | str, region: Region | str) -> IdentityQuerySet:
    account_id = account if isinstance(account, str) else account.pk
    region_id = region if isinstance(region, str) else region.pk
    return Identity.objects.filter(account_id=account_id, region_id=region_id)


def explain(account: Account | str, region: Region | str, address: str) -> Lookup:
    """Find the applicable identity and what else was considered (one query)."""
    parts = split_address(address)
    if parts is None:
        return Lookup(address, "", [], None, [])
    [rows] = sql.run_together([applicable_statement(account, region, [address])])
    return _decide(address, parts, _identities(rows))


def applicable_statement(
    account: Account | str, region: Region | str, addresses: list[str]
) -> sql.Statement:
    """The one SELECT of every identity that could apply to any of `addresses`, for a caller
    that runs it along with other statements (`sql.run_together`); `applicable_from` reads
    its rows. Plain SQL: the send path runs it on every message, and compiling the same
    QuerySet cost about as much as the round trip."""
    account_id = account if isinstance(account, str) else account.pk
    region_id = region if isinstance(region, str) else region.pk
    names = sorted(
        {
            name
            for parts in map(split_address, addresses)
            if parts is not None
            for name in (parts[0], *domain_candidates(parts[1]))
        }
    )
    return _applicable_sql(len(names)), [
        account_id,
        region_id,
        IdentityType.EMAIL_ADDRESS.value,
        IdentityType.DOMAIN.value,
        *names,
    ]


@lru_cache(maxsize=256)  # bounded: a name count comes from the caller's addresses
def _applicable_sql(count: int) -> str:
    """Written once per number of names (a send has a handful): building it from `_meta` on
    each send cost ~0.2 ms (cProfile)."""
    table = sql.table(Identity)
    account, region, kind, name = (
        sql.column(Identity, field) for field in ("account", "region", "identity_type", "name")
    )
    # `IN (NULL)` matches nothing: no address to look up still makes a valid statement.
    listed = ", ".join(["%s"] * count) or "NULL"
    return (
        f"SELECT {sql.columns(Identity, table)} FROM {table} "  # noqa: S608
        f"WHERE {account} = %s AND {region} = %s AND {kind} IN (%s, %s) AND {name} IN ({listed})"
    )


def applicable_from(
    addresses: list[str], rows: list[tuple[Any, ...]]
) -> dict[str, Identity | None]:
    """What `applicable_identity` answers for each address, from `applicable_statement`'s rows."""
    identities = _identities(rows)
    return {
        address: None if parts is None else _decide(address, parts, identities).identity
        for address in addresses
        for parts in [split_address(address)]
    }


def _identities(rows: list[tuple[Any, ...]]) -> list[Identity]:
    return [sql.instance(Identity, row, 0)[0] for row in rows]


def _decide(address: str, parts: tuple[str, str], rows: list[Identity]) -> Lookup:
    """SES's rule over the candidate rows (extra rows for other addresses are ignored)."""
    email_name, domain = parts
    domains = domain_candidates(domain)
    # The database may compare case-insensitively (MySQL, some collations): SES doesn't.
    email = [
        i for i in rows if i.identity_type == IdentityType.EMAIL_ADDRESS and i.name == email_name
    ]
    by_domain = {i.name: i for i in rows if i.identity_type == IdentityType.DOMAIN}
    ordered = email + [by_domain[name] for name in domains if name in by_domain]
    # Verified for sending: SUCCESS, or TEMPORARY_FAILURE within its 72-hour window.
    verified = [i for i in ordered if i.verified_for_sending]
    unverified = [i for i in ordered if not i.verified_for_sending]
    return Lookup(address, email_name, domains, verified[0] if verified else None, unverified)


def applicable_identity(
    account: Account | str, region: Region | str, address: str
) -> Identity | None:
    """The verified identity whose settings apply to `address`, or None if none covers it."""
    return explain(account, region, address).identity


def applicable_identities(
    account: Account | str, region: Region | str, addresses: list[str]
) -> dict[str, Identity | None]:
    """`applicable_identity` for several addresses in one query (a send checks its senders
    and, in the sandbox, its recipients: one round trip instead of one per address)."""
    [rows] = sql.run_together([applicable_statement(account, region, addresses)])
    return applicable_from(addresses, rows)


def dkim_signing_identity(
    account: Account | str, region: Region | str, address: str
) -> Identity | None:
    """The domain identity whose DKIM key signs mail from `address`, or None.

    An email address identity has no key of its own: it signs with the key of the most
    specific verified domain above it, and only if that domain's DKIM setup is verified and
    signing is enabled (SES FAQ Q11).
    """
    parts = split_address(address)
    if parts is None:
        return None
    domains = domain_candidates(parts[1])
    rows = _in_scope(account, region).domains().verified().filter(name__in=domains)
    return _signing_identity(domains, rows)


def _signing_identity(domains: list[str], verified: Iterable[Identity]) -> Identity | None:
    """Of the verified domain identities among `domains` (most specific first), the one that
    signs: the most specific decides, and signs only with DKIM verified and signing on."""
    rows = {identity.name: identity for identity in verified}
    for name in domains:
        identity = rows.get(name)
        if identity is not None:
            signs = (
                identity.dkim_signing_enabled and identity.dkim_status == VerificationStatus.SUCCESS
            )
            return identity if signs else None
    return None


def dkim_signing_key(
    account_id: str, region_id: str, address: str
) -> tuple[Identity, DkimKey | None] | None:
    """`dkim_signing_identity` and the key it signs with (its first token's: Easy DKIM's first
    token or the BYODKIM selector; a DEED replica's parent holds the keys), or None when mail
    from `address` is not signed. The key is None when the identity has none (yet).

    One plain SELECT, the identities joined with their keys, written once per label count:
    every delivery asks it, and the ORM compiling two queries per message was a large part of
    a worker's CPU (BENCHMARKS.md, "Eighth session: delivery")."""
    parts = split_address(address)
    if parts is None:
        return None
    domains = domain_candidates(parts[1])
    params = [account_id, region_id, IdentityType.DOMAIN.value]
    params += [VerificationStatus.SUCCESS.value, *domains]
    with sql.prepared_cursor() as cursor:
        cursor.execute(_signing_key_sql(len(domains)), params)
        rows = cursor.fetchall()
    identities: dict[int, Identity] = {}
    keys: dict[tuple[int, str], DkimKey] = {}
    for row in rows:
        identity, offset = sql.instance(Identity, row, 0, SIGNING_FIELDS)
        identity = identities.setdefault(identity.pk, identity)
        if row[offset] is not None:
            key = sql.instance(DkimKey, row, offset, KEY_FIELDS)[0]
            keys[identity.pk, key.selector] = key
    signing = _signing_identity(domains, identities.values())
    if signing is None or not signing.dkim_tokens:
        return None
    return signing, keys.get((signing.pk, signing.dkim_tokens[0]))


# What signing reads of an identity and of its keys (the rest is deferred).
SIGNING_FIELDS = (
    "id", "name", "identity_type", "verification_status", "dkim_signing_enabled",
    "dkim_status", "dkim_tokens", "dkim_parent",
)  # fmt: skip
KEY_FIELDS = ("id", "identity", "selector", "key_size", "private_key_encrypted")


@lru_cache(maxsize=64)  # one per number of labels in a sender's domain
def _signing_key_sql(count: int) -> str:
    identity, key = sql.table(Identity), sql.table(DkimKey)
    account, region, kind, status, name, parent = (
        sql.column(Identity, field)
        for field in ("account", "region", "identity_type", "verification_status", "name",
                      "dkim_parent")
    )  # fmt: skip
    listed = ", ".join(["%s"] * count) or "NULL"
    return (
        f"SELECT {sql.columns(Identity, identity, SIGNING_FIELDS)}, "  # noqa: S608
        f"{sql.columns(DkimKey, key, KEY_FIELDS)} FROM {identity} "
        f"LEFT JOIN {key} ON {key}.{sql.column(DkimKey, 'identity')} "
        f"= COALESCE({identity}.{parent}, {identity}.{sql.column(Identity, 'id')}) "
        f"WHERE {identity}.{account} = %s AND {identity}.{region} = %s "
        f"AND {identity}.{kind} = %s AND {identity}.{status} = %s "
        f"AND {identity}.{name} IN ({listed})"
    )
