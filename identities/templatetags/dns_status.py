"""Template helpers for the identity page: last DNS check per record, history.

Tags rather than view context so the console's views stay as they are; each is one query.
"""

from __future__ import annotations

from typing import Any

from django import template

from identities.models import Identity, IdentityEvent, RecordCheck

register = template.Library()

HISTORY_LENGTH = 20


def _key(purpose: str, name: str, record_type: str) -> str:
    return f"{purpose}|{name}|{record_type}"


@register.simple_tag
def record_checks(identity: Identity) -> dict[str, RecordCheck]:
    """{"purpose|name|type": RecordCheck} for `check_for`."""
    return {_key(rc.purpose, rc.name, rc.record_type): rc for rc in identity.record_checks.all()}


@register.filter
def check_for(record: Any, checks: dict[str, RecordCheck] | None) -> RecordCheck | None:
    """The last check of an expected record (records.DnsRecord), if there was one."""
    if not checks:
        return None
    return checks.get(_key(str(record.purpose), record.name, record.type))


@register.simple_tag
def own_domain_identity(identity: Identity) -> Identity | None:
    """The domain identity named like an address's domain, whatever its status: the page then
    says "verify it" instead of "create it" when it already exists."""
    return (
        Identity.objects.domains()
        .filter(account_id=identity.account_id, region_id=identity.region_id)
        .filter(name=identity.domain)
        .only("name", "region_id", "verification_status")
        .first()
    )


@register.simple_tag
def identity_history(identity: Identity) -> list[IdentityEvent]:
    return list(identity.events.all()[:HISTORY_LENGTH])
