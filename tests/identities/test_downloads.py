"""Download .csv record set and the zone-file snippet; private keys never leave the server."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client
from django.urls import reverse

from identities import provisioning, tasks
from identities.models import Identity
from sesconsole import validators
from tests.support.keys import der_base64, pem, rsa_key, spki_base64


def url(view: str, name: str = "example.com") -> str:
    return reverse(f"identities:{view}", kwargs={"region": "us-east-1", "name": name})


def byodkim_domain(make_domain: Callable) -> Identity:
    parsed = validators.parse_byodkim_private_key(der_base64(rsa_key(1024)))
    return make_domain("example.com", dkim=provisioning.Byodkim(selector="sel1", key=parsed))


# --- CSV ----------------------------------------------------------------------------------------
def test_csv_easy_dkim_with_mail_from(owner_client: Client, make_domain: Callable) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    t1, t2, t3 = identity.dkim_tokens

    response = owner_client.get(url("records_csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="example.com-records.csv"'
    assert response.content.decode() == (
        "Type,Name,Value\r\n"
        f"CNAME,{t1}._domainkey.example.com,{t1}.dkim.amazonses.com\r\n"
        f"CNAME,{t2}._domainkey.example.com,{t2}.dkim.amazonses.com\r\n"
        f"CNAME,{t3}._domainkey.example.com,{t3}.dkim.amazonses.com\r\n"
        "MX,mail.example.com,10 feedback-smtp.us-east-1.amazonses.com\r\n"
        'TXT,mail.example.com,"""v=spf1 include:amazonses.com ~all"""\r\n'
    )


def test_csv_byodkim_txt_row(owner_client: Client, make_domain: Callable) -> None:
    byodkim_domain(make_domain)

    response = owner_client.get(url("records_csv"))

    assert response.content.decode() == (
        f"Type,Name,Value\r\nTXT,sel1._domainkey.example.com,p={spki_base64(rsa_key(1024))}\r\n"
    )


def test_csv_email_identity_is_only_the_header(owner_client: Client, make_email: Callable) -> None:
    make_email("o'neil/ops@example.com")

    response = owner_client.get(url("records_csv", "o'neil/ops@example.com"))

    assert response.content.decode() == "Type,Name,Value\r\n"
    # Characters unsafe in a file name are replaced.
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="o_neil_ops@example.com-records.csv"'
    )


# --- zone file ------------------------------------------------------------------------------------
def test_zone_file_easy_dkim_with_mail_from(owner_client: Client, make_domain: Callable) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")
    t1, t2, t3 = identity.dkim_tokens

    response = owner_client.get(url("records_zone"))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="example.com.zone"'
    assert response.content.decode() == (
        "; DNS records for the SES identity example.com (us-east-1)\n"
        f"{t1}._domainkey.example.com.\t1800\tIN\tCNAME\t{t1}.dkim.amazonses.com.\n"
        f"{t2}._domainkey.example.com.\t1800\tIN\tCNAME\t{t2}.dkim.amazonses.com.\n"
        f"{t3}._domainkey.example.com.\t1800\tIN\tCNAME\t{t3}.dkim.amazonses.com.\n"
        "mail.example.com.\t1800\tIN\tMX\t10 feedback-smtp.us-east-1.amazonses.com.\n"
        'mail.example.com.\t1800\tIN\tTXT\t"v=spf1 include:amazonses.com ~all"\n'
        '; recommended: _dmarc.example.com.\t1800\tIN\tTXT\t"v=DMARC1; p=none;"\n'
    )


# --- access -----------------------------------------------------------------------------------------
def test_download_htmx_request_still_gets_the_file(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = owner_client.get(url("records_csv"), HTTP_HX_REQUEST="true")

    assert response.content.decode().startswith("Type,Name,Value\r\n")


# --- private keys never appear ------------------------------------------------------------------------
PAGES = [
    "detail",
    "tab_configuration_set",
    "tab_tags",
    "tab_notifications",
    "edit_dkim",
    "edit_mail_from",
    "edit_configuration_set",
    "edit_tags",
    "edit_feedback",
    "delete",
    "records_csv",
    "records_zone",
]


def every_response(client: Client, name: str = "example.com") -> list[str]:
    responses = [client.get(url(view, name)) for view in PAGES]
    responses.append(client.get(reverse("identities:list", kwargs={"region": "us-east-1"})))
    assert [r.status_code for r in responses] == [200] * len(responses)
    return [r.content.decode() for r in responses]


def test_byodkim_private_key_never_appears(owner_client: Client, region) -> None:
    key = rsa_key(1024)
    create = reverse("identities:create", kwargs={"region": "us-east-1"})
    data = {
        "identity_type": "DOMAIN",
        "domain": "example.com",
        "dkim_type": "EXTERNAL",
        "private_key": pem(key),
        "selector": "sel1",
        "key_length": "RSA_2048_BIT",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
        "dkim_signing_enabled": "on",
    }
    after_create = owner_client.post(create, data, follow=True).content.decode()

    secret_forms = [der_base64(key), pem(key), "".join(pem(key).splitlines()[1:-1])]
    for body in [after_create, *every_response(owner_client)]:
        for secret in secret_forms:
            assert secret not in body


def test_easy_dkim_private_keys_never_appear(owner_client: Client, make_domain: Callable) -> None:
    identity = make_domain("example.com", dkim=provisioning.EasyDkim(key_length="RSA_1024_BIT"))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    secrets = [key.private_key_base64() for key in identity.dkim_keys.all()]
    assert len(secrets) == 3

    for body in every_response(owner_client):
        for secret in secrets:
            assert secret not in body
