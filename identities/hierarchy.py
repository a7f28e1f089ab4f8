"""Which identity's settings apply to a sender address (docs/design.md, flow 4).

SES's rule (creating-identities.md): a verified email address identity wins; otherwise the
most specific verified domain, walking up the labels (user@a.b.example.com → a.b.example.com
→ b.example.com → example.com). Email addresses are case-sensitive, domains are not, and a
`+label` in the local part maps to the address without it. Everything that needs "is this From
address verified?" — template FromEmailAddress, test sends, DKIM signing — asks this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import idna

from accounts.models import Account, Region
from sesconsole import validators

from .models import Identity, IdentityQuerySet, IdentityType, VerificationStatus


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
    return _decide(address, parts, _rows(account, region, [parts]))


def _rows(
    account: Account | str, region: Region | str, parts: list[tuple[str, str]]
) -> list[Identity]:
    """Every identity that could apply to any of these split addresses, in one query."""
    names = {
        name for email_name, domain in parts for name in (email_name, *domain_candidates(domain))
    }
    return list(
        _in_scope(account, region).filter(
            identity_type__in=[IdentityType.EMAIL_ADDRESS, IdentityType.DOMAIN],
            name__in=sorted(names),
        )
    )


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
    split = {address: split_address(address) for address in addresses}
    wanted = [parts for parts in split.values() if parts is not None]
    rows = _rows(account, region, wanted) if wanted else []
    return {
        address: None if parts is None else _decide(address, parts, rows).identity
        for address, parts in split.items()
    }


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
    rows = {
        i.name: i for i in _in_scope(account, region).domains().verified().filter(name__in=domains)
    }
    for name in domains:
        identity = rows.get(name)
        if identity is not None:
            signs = (
                identity.dkim_signing_enabled and identity.dkim_status == VerificationStatus.SUCCESS
            )
            return identity if signs else None
    return None
