"""The DNS records an identity needs, derived (never stored) from the identity.

The console tables, the CSV and zone-file downloads, RFC 2136 publishing and the DNS
checks all call `expected_records`, so a record can never differ between them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from .dns_publish import Record, zone_line
from .models import DkimKey, Identity


class Purpose(StrEnum):
    VERIFICATION = "VERIFICATION"  # legacy (SES v1) domain verification: _amazonses TXT
    DKIM = "DKIM"
    MAIL_FROM_MX = "MAIL_FROM_MX"
    MAIL_FROM_SPF = "MAIL_FROM_SPF"
    DMARC = "DMARC"


@dataclass(frozen=True)
class DnsRecord:
    purpose: Purpose
    name: str
    type: str
    value: str
    recommended: bool = False  # shown as advice; not checked for verification

    @property
    def is_mail_from(self) -> bool:
        return self.purpose in (Purpose.MAIL_FROM_MX, Purpose.MAIL_FROM_SPF)


def mail_from_mx_value(region_code: str) -> str:
    return f"10 feedback-smtp.{region_code}.{settings.MAIL_FROM_MX_DOMAIN}"


def spf_value() -> str:
    return f'"v=spf1 include:{settings.SPF_INCLUDE_DOMAIN} ~all"'


def dkim_records(identity: Identity, byodkim_key: DkimKey | None = None) -> list[DnsRecord]:
    # A DEED replica signs through its parent's records: it has none of its own to publish.
    if not identity.is_domain or not identity.dkim_tokens or identity.is_replica:
        return []
    domain = identity.name
    if identity.uses_byodkim:
        selector = identity.dkim_tokens[0]
        public_key = byodkim_key.public_key if byodkim_key else "customerProvidedPublicKey"
        return [
            DnsRecord(Purpose.DKIM, f"{selector}._domainkey.{domain}", "TXT", f"p={public_key}")
        ]
    zone = identity.region.signing_hosted_zone
    return [
        DnsRecord(Purpose.DKIM, f"{token}._domainkey.{domain}", "CNAME", f"{token}.{zone}")
        for token in identity.dkim_tokens
    ]


def verification_records(identity: Identity) -> list[DnsRecord]:
    """The legacy `_amazonses` TXT record, while the domain is verified that way (v1
    VerifyDomainIdentity); the value is the token, quoted like every TXT value here."""
    if not identity.is_domain or not identity.legacy_txt_status or not identity.verification_token:
        return []
    name = f"_amazonses.{identity.name}"
    return [DnsRecord(Purpose.VERIFICATION, name, "TXT", f'"{identity.verification_token}"')]


def mail_from_records(identity: Identity) -> list[DnsRecord]:
    if not identity.mail_from_domain:
        return []
    name = identity.mail_from_domain
    return [
        DnsRecord(Purpose.MAIL_FROM_MX, name, "MX", mail_from_mx_value(identity.region_id)),
        DnsRecord(Purpose.MAIL_FROM_SPF, name, "TXT", spf_value()),
    ]


def dmarc_record(identity: Identity) -> DnsRecord | None:
    if not identity.is_domain:
        return None
    return DnsRecord(
        Purpose.DMARC,
        f"_dmarc.{identity.name}",
        "TXT",
        f'"{settings.DMARC_RECOMMENDED_VALUE}"',
        recommended=True,
    )


def expected_records(identity: Identity, *, include_recommended: bool = False) -> list[DnsRecord]:
    """Every record the identity needs: the legacy verification TXT (v1 domains), DKIM, then
    MAIL FROM, then (optionally) DMARC.

    A BYODKIM identity's TXT value needs the stored public key; callers that list many
    identities should prefetch `dkim_keys` to avoid one query per identity.
    """
    byodkim_key = None
    if identity.is_domain and identity.uses_byodkim:
        byodkim_key = next(iter(identity.dkim_keys.all()), None)
    records = (
        verification_records(identity)
        + dkim_records(identity, byodkim_key)
        + mail_from_records(identity)
    )
    if include_recommended and (dmarc := dmarc_record(identity)):
        records.append(dmarc)
    return records


def records_csv(records: list[DnsRecord]) -> str:
    """The "Download .csv record set" file: Type,Name,Value, one row per record.

    SES's exact file format is undocumented (see the spec's §1.7): this is the on-screen
    table's columns, kept in this one function so it can be corrected in one place.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Type", "Name", "Value"])
    for record in records:
        writer.writerow([record.type, record.name, record.value])
    return out.getvalue()


def zone_file(identity: Identity, records: list[DnsRecord], ttl: int = 1800) -> str:
    """A BIND zone-file snippet with absolute names, ready to paste into a zone."""
    lines = [f"; DNS records for the SES identity {identity.name} ({identity.region_id})"]
    for record in records:
        prefix = "; recommended: " if record.recommended else ""
        line = zone_line(Record(record.name, record.type, record.value, ttl))
        lines.append(f"{prefix}{line}")
    return "\n".join(lines) + "\n"
