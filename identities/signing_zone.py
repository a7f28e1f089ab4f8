"""The operator's signing hosted zone: where the Easy DKIM public keys are published.

Easy DKIM tells users to publish `<token>._domainkey.<domain> CNAME <token>.<zone>`; receivers
then need `<token>.<zone> TXT "v=DKIM1; k=rsa; p=..."`. That zone is the operator's, not an
account's: it is exported as a zone file (staff page) and, when admin has registered an
operator DNS server (a DnsServer without account) whose zone contains it, published there by
RFC 2136 after each key generation. Our own names in our own zone are replaced when a key
changes (key-length change), unlike publishing into users' zones, which never overwrites.
"""

from __future__ import annotations

from django.conf import settings

from . import dns_publish
from .dns_publish import Record, UpdateTarget, choose_target, publish, zone_line
from .models import DkimKey, DkimOrigin, DnsServer, Identity

TTL = 3600


def has_operator_server() -> bool:
    return DnsServer.objects.filter(account__isnull=True).exists()


def operator_targets() -> list[UpdateTarget]:
    return [server.update_target() for server in DnsServer.objects.filter(account__isnull=True)]


def signing_zones() -> list[str]:
    """Every signing hosted zone in use: the default and the region-specific ones."""
    from accounts.models import Region

    zones = {settings.SIGNING_HOSTED_ZONE}
    zones.update(
        Region.objects.exclude(dkim_signing_zone="").values_list("dkim_signing_zone", flat=True)
    )
    return sorted(zones)


def key_record(key: DkimKey, zone: str) -> Record:
    return Record(name=f"{key.selector}.{zone}", rdtype="TXT", value=key.txt_value, ttl=TTL)


def zone_records(zone: str) -> list[Record]:
    """The TXT records `zone` must serve: every current Easy DKIM key of the regions using it."""
    keys = (
        DkimKey.objects.filter(identity__dkim_origin=DkimOrigin.AWS_SES)
        .select_related("identity__region")
        .only(
            "selector", "public_key", "identity__dkim_tokens", "identity__region__dkim_signing_zone"
        )
        .order_by("selector")
    )
    return [
        key_record(key, zone)
        for key in keys
        if key.identity.region.signing_hosted_zone == zone
        and key.selector in key.identity.dkim_tokens
    ]


def zone_file(zone: str) -> str:
    """A zone-file snippet with absolute names; long values as several ≤ 255-byte strings."""
    lines = [f"; Easy DKIM public keys served by the signing hosted zone {zone}"]
    lines.extend(zone_line(record) for record in zone_records(zone))
    return "\n".join(lines) + "\n"


def identity_records(identity: Identity) -> list[Record]:
    zone = identity.region.signing_hosted_zone
    keys = identity.dkim_keys.filter(selector__in=identity.dkim_tokens).order_by("selector")
    return [key_record(key, zone) for key in keys]


def publish_identity_keys(identity: Identity) -> str:
    """Publish an identity's keys to the operator server of its signing zone; replace our own
    stale values (a rotated key). Returns a short summary for the log."""
    wanted = identity_records(identity)
    target = choose_target(identity.region.signing_hosted_zone, operator_targets())
    if target is None or not wanted:
        return "not published (no operator DNS server for the signing zone)"
    timeout = settings.DNS_PUBLISH_TIMEOUT
    result = publish(target, wanted, timeout=timeout)
    stale = [record for record, _ in result.conflicts]
    if stale:
        dns_publish.replace(target, stale, timeout=timeout)
    return (
        f"{len(result.published)} published, {len(result.already_present)} already present, "
        f"{len(stale)} replaced"
    )
