"""DKIM inheritance: an email address identity signs with its verified domain's DKIM (SES)."""

from __future__ import annotations

from .hierarchy import domain_candidates
from .models import Identity, VerificationStatus


def inherited_dkim_domain(identity: Identity) -> Identity | None:
    """The domain identity whose DKIM an email address identity inherits, or None.

    Settings apply at the most specific verified level, so this is the most specific verified
    domain walking up the labels (case-insensitive: domains are stored lower-cased), and only
    if its DKIM setup is verified. One query.
    """
    if identity.is_domain:
        return None
    names = domain_candidates(identity.domain)
    verified = {
        domain.name: domain
        for domain in Identity.objects.in_scope(identity.account, identity.region_id)
        .domains()
        .verified()
        .filter(name__in=names)
    }
    for name in names:
        if name in verified:
            domain = verified[name]
            return domain if domain.dkim_status == VerificationStatus.SUCCESS else None
    return None
