"""identities.records: the one function that derives an identity's DNS records, CSV, zone file."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_django import Settings

from accounts.models import Region
from identities.models import Identity
from identities.provisioning import Byodkim
from identities.records import (
    DnsRecord,
    Purpose,
    expected_records,
    records_csv,
    zone_file,
)
from sesconsole.validators import parse_byodkim_private_key
from tests.support import keys

pytestmark = pytest.mark.django_db


def easy_dkim_records(identity: Identity, zone: str = "dkim.amazonses.com") -> list[DnsRecord]:
    return [
        DnsRecord(Purpose.DKIM, f"{token}._domainkey.{identity.name}", "CNAME", f"{token}.{zone}")
        for token in identity.dkim_tokens
    ]


MAIL_FROM_US_EAST_1 = [
    DnsRecord(
        Purpose.MAIL_FROM_MX,
        "mail.example.com",
        "MX",
        "10 feedback-smtp.us-east-1.amazonses.com",
    ),
    DnsRecord(
        Purpose.MAIL_FROM_SPF, "mail.example.com", "TXT", '"v=spf1 include:amazonses.com ~all"'
    ),
]


@pytest.fixture
def byodkim_domain(make_domain: Callable[..., Identity]) -> Identity:
    key = parse_byodkim_private_key(keys.der_base64(keys.rsa_key(2048)))
    return make_domain("example.com", dkim=Byodkim(selector="sel2024", key=key))


def test_expected_records_easy_dkim_three_cnames(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    assert len(identity.dkim_tokens) == 3
    assert expected_records(identity) == easy_dkim_records(identity)


def test_expected_records_easy_dkim_region_specific_zone(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com", reg=Region.objects.get(code="af-south-1"))
    assert expected_records(identity) == easy_dkim_records(
        identity, "dkim.af-south-1.amazonses.com"
    )


def test_expected_records_signing_hosted_zone_setting(
    make_domain: Callable[..., Identity], settings: Settings
) -> None:
    settings.SIGNING_HOSTED_ZONE = "dkim.mail.example.net"
    identity = make_domain("example.com")
    assert expected_records(identity) == easy_dkim_records(identity, "dkim.mail.example.net")


def test_expected_records_region_zone_wins_over_setting(
    make_domain: Callable[..., Identity], settings: Settings
) -> None:
    settings.SIGNING_HOSTED_ZONE = "dkim.mail.example.net"
    identity = make_domain("example.com", reg=Region.objects.get(code="eu-south-1"))
    assert expected_records(identity) == easy_dkim_records(
        identity, "dkim.eu-south-1.amazonses.com"
    )


def test_expected_records_byodkim_txt_with_public_key(byodkim_domain: Identity) -> None:
    public_key = keys.spki_base64(keys.rsa_key(2048))
    assert expected_records(byodkim_domain) == [
        DnsRecord(Purpose.DKIM, "sel2024._domainkey.example.com", "TXT", f"p={public_key}")
    ]


def test_expected_records_byodkim_placeholder_without_key(byodkim_domain: Identity) -> None:
    byodkim_domain.dkim_keys.all().delete()
    assert expected_records(byodkim_domain) == [
        DnsRecord(
            Purpose.DKIM, "sel2024._domainkey.example.com", "TXT", "p=customerProvidedPublicKey"
        )
    ]


def test_expected_records_mail_from(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    assert expected_records(identity) == easy_dkim_records(identity) + MAIL_FROM_US_EAST_1
    assert [record.is_mail_from for record in expected_records(identity)] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_expected_records_mail_from_region_in_mx(
    make_domain: Callable[..., Identity], other_region: Region
) -> None:
    identity = make_domain("example.com", reg=other_region, mail_from_domain="bounce.example.com")
    assert expected_records(identity)[3:] == [
        DnsRecord(
            Purpose.MAIL_FROM_MX,
            "bounce.example.com",
            "MX",
            "10 feedback-smtp.eu-west-1.amazonses.com",
        ),
        DnsRecord(
            Purpose.MAIL_FROM_SPF,
            "bounce.example.com",
            "TXT",
            '"v=spf1 include:amazonses.com ~all"',
        ),
    ]


def test_expected_records_mail_from_settings(
    make_domain: Callable[..., Identity], settings: Settings
) -> None:
    settings.MAIL_FROM_MX_DOMAIN = "mx.example.net"
    settings.SPF_INCLUDE_DOMAIN = "spf.example.net"
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    assert expected_records(identity)[3:] == [
        DnsRecord(
            Purpose.MAIL_FROM_MX,
            "mail.example.com",
            "MX",
            "10 feedback-smtp.us-east-1.mx.example.net",
        ),
        DnsRecord(
            Purpose.MAIL_FROM_SPF,
            "mail.example.com",
            "TXT",
            '"v=spf1 include:spf.example.net ~all"',
        ),
    ]


def test_expected_records_mail_from_cleared(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    identity.clear_mail_from()
    assert expected_records(identity) == easy_dkim_records(identity)


def test_expected_records_email_identity_is_empty(make_email: Callable[..., Identity]) -> None:
    identity = make_email("sender@example.com")
    assert expected_records(identity) == []
    assert expected_records(identity, include_recommended=True) == []


def test_expected_records_dmarc_only_when_recommended(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    dmarc = DnsRecord(
        Purpose.DMARC, "_dmarc.example.com", "TXT", '"v=DMARC1; p=none;"', recommended=True
    )
    assert expected_records(identity) == easy_dkim_records(identity)
    assert expected_records(identity, include_recommended=True) == [
        *easy_dkim_records(identity),
        dmarc,
    ]


def test_records_csv_content(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    t1, t2, t3 = identity.dkim_tokens
    assert records_csv(expected_records(identity)) == (
        "Type,Name,Value\r\n"
        f"CNAME,{t1}._domainkey.example.com,{t1}.dkim.amazonses.com\r\n"
        f"CNAME,{t2}._domainkey.example.com,{t2}.dkim.amazonses.com\r\n"
        f"CNAME,{t3}._domainkey.example.com,{t3}.dkim.amazonses.com\r\n"
        "MX,mail.example.com,10 feedback-smtp.us-east-1.amazonses.com\r\n"
        'TXT,mail.example.com,"""v=spf1 include:amazonses.com ~all"""\r\n'
    )


def test_records_csv_header_only_for_no_records() -> None:
    assert records_csv([]) == "Type,Name,Value\r\n"


def test_zone_file_content(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    t1, t2, t3 = identity.dkim_tokens
    records = expected_records(identity, include_recommended=True)
    assert zone_file(identity, records) == (
        "; DNS records for the SES identity example.com (us-east-1)\n"
        f"{t1}._domainkey.example.com.\t1800\tIN\tCNAME\t{t1}.dkim.amazonses.com.\n"
        f"{t2}._domainkey.example.com.\t1800\tIN\tCNAME\t{t2}.dkim.amazonses.com.\n"
        f"{t3}._domainkey.example.com.\t1800\tIN\tCNAME\t{t3}.dkim.amazonses.com.\n"
        "mail.example.com.\t1800\tIN\tMX\t10 feedback-smtp.us-east-1.amazonses.com.\n"
        'mail.example.com.\t1800\tIN\tTXT\t"v=spf1 include:amazonses.com ~all"\n'
        '; recommended: _dmarc.example.com.\t1800\tIN\tTXT\t"v=DMARC1; p=none;"\n'
    )


def test_zone_file_splits_long_byodkim_txt(byodkim_domain: Identity) -> None:
    value = "p=" + keys.spki_base64(keys.rsa_key(2048))
    assert len(value) == 394
    text = zone_file(byodkim_domain, expected_records(byodkim_domain), ttl=300)
    assert text == (
        "; DNS records for the SES identity example.com (us-east-1)\n"
        f'sel2024._domainkey.example.com.\t300\tIN\tTXT\t"{value[:255]}" "{value[255:]}"\n'
    )
    strings = text.splitlines()[1].split("\t")[-1].split(" ")
    assert [len(s.strip('"').encode()) for s in strings] == [255, 139]
