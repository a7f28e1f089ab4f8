"""The Create identity wizard."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import ConfigurationSet, DkimKey, DnsServer, Identity
from sesconsole import validators
from tests.support.keys import der_base64, pem, rsa_key, spki_base64

HTMX = {"HTTP_HX_REQUEST": "true"}
CREATE_URL = "/us-east-1/verified-identities/create/"


def domain_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "identity_type": "DOMAIN",
        "domain": "example.com",
        "dkim_type": "AWS_SES",
        "key_length": "RSA_2048_BIT",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
        "dkim_signing_enabled": "on",
        "tag_key": [""],
        "tag_value": [""],
    }
    data.update(overrides)
    return data


def email_form(**overrides: Any) -> dict[str, Any]:
    data = domain_form(identity_type="EMAIL_ADDRESS", domain="", email="Sender+news@Example.org")
    data.update(overrides)
    return data


def detail_url(name: str) -> str:
    return reverse("identities:detail", kwargs={"region": "us-east-1", "name": name})


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


# --- access -----------------------------------------------------------------------------------
def test_create_url_is_stable(region: Region) -> None:
    assert reverse("identities:create", kwargs={"region": "us-east-1"}) == CREATE_URL


def test_create_get_shows_the_wizard_sections_in_ses_order(
    owner_client: Client, region: Region
) -> None:
    page = owner_client.get(CREATE_URL).content.decode()
    html = page[page.index("<main") :]  # the <head> may mention words like "Tags"

    order = [
        "Identity details",
        "Assign a default configuration set",
        "Custom MAIL FROM domain",
        "Advanced DKIM settings",
        "DKIM signatures",
        "Tags",
        'class="btn btn--primary">Create identity</button>',  # the visible one, at the end
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert 'name="add_tag"' in html


# --- happy paths --------------------------------------------------------------------------------
def test_create_domain_redirects_to_its_page(owner_client: Client, account: Account) -> None:
    response = owner_client.post(CREATE_URL, domain_form(domain="Example.COM"))

    identity = Identity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url("example.com")
    assert (identity.account, identity.region_id, identity.name) == (
        account,
        "us-east-1",
        "example.com",
    )
    assert identity.verification_status == "PENDING"
    assert len(identity.dkim_tokens) == 3
    assert identity.events.get().actor == "owner"


def test_create_with_only_type_and_domain_uses_ses_defaults(owner_client: Client) -> None:
    # Scripted clients may omit the radio groups a browser always sends.
    response = owner_client.post(CREATE_URL, {"identity_type": "DOMAIN", "domain": "example.com"})

    identity = Identity.objects.get()
    assert response.status_code == 302
    assert (identity.dkim_origin, identity.dkim_next_key_length, identity.mail_from_domain) == (
        "AWS_SES",
        "RSA_2048_BIT",
        "",
    )


def test_create_unknown_choice_says_what_to_do(owner_client: Client) -> None:
    response = owner_client.post(CREATE_URL, domain_form(key_length="RSA_4096_BIT"))

    assert field_errors(response, "key_length") == [
        "“RSA_4096_BIT” is not one of the options. Choose one of the options listed."
    ]
    assert field_errors(response, "identity_type") == []


def test_create_without_identity_type_says_what_to_choose(owner_client: Client) -> None:
    response = owner_client.post(CREATE_URL, {"domain": "example.com"})

    assert field_errors(response, "identity_type") == [
        "Choose the identity type: Domain or Email address."
    ]


def test_create_teammate_creates_in_the_shared_account(
    teammate_client: Client, account: Account
) -> None:
    teammate_client.post(CREATE_URL, domain_form())

    assert Identity.objects.get().account == account


def test_create_domain_with_every_option(
    owner_client: Client, account: Account, region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="marketing")
    data = domain_form(
        assign_configuration_set="on",
        configuration_set="marketing",
        use_mail_from="on",
        mail_from_domain="mail.example.com",
        mail_from_behavior="REJECT_MESSAGE",
        key_length="RSA_1024_BIT",
        dkim_signing_enabled="",
        tag_key=["team", "cost-centre"],
        tag_value=["mail", ""],
    )

    owner_client.post(CREATE_URL, data)

    identity = Identity.objects.get()
    assert identity.configuration_set_name == "marketing"
    assert (identity.mail_from_domain, identity.mail_from_behavior) == (
        "mail.example.com",
        "REJECT_MESSAGE",
    )
    assert identity.dkim_next_key_length == "RSA_1024_BIT"
    assert identity.dkim_signing_enabled is False
    assert sorted(identity.tags.values_list("key", "value")) == [
        ("cost-centre", ""),
        ("team", "mail"),
    ]


def test_create_email_keeps_case_and_ignores_domain_only_fields(
    owner_client: Client, region: Region
) -> None:
    # Without JavaScript the domain-only sections are still in the form; they must not count.
    data = email_form(use_mail_from="on", mail_from_domain="not valid!", dkim_type="EXTERNAL")

    response = owner_client.post(CREATE_URL, data)

    identity = Identity.objects.get()
    assert response["Location"] == detail_url("Sender+news@Example.org")
    assert (identity.identity_type, identity.name) == ("EMAIL_ADDRESS", "Sender+news@Example.org")
    assert identity.mail_from_domain == ""


def test_create_byodkim_with_pem_armour_says_it_was_cleaned(
    owner_client: Client, region: Region
) -> None:
    key = rsa_key(1024)
    data = domain_form(dkim_type="EXTERNAL", private_key=pem(key), selector="sel1")

    response = owner_client.post(CREATE_URL, data, follow=True)

    identity = Identity.objects.get()
    stored = DkimKey.objects.get(identity=identity)
    assert identity.dkim_origin == "EXTERNAL"
    assert identity.dkim_tokens == ["sel1"]
    assert stored.public_key == spki_base64(key)
    assert stored.private_key_base64() == der_base64(key)
    assert validators.BYODKIM_CLEANED_NOTICE in response.content.decode()


def test_create_byodkim_plain_base64_has_no_notice(owner_client: Client, region: Region) -> None:
    data = domain_form(dkim_type="EXTERNAL", private_key=der_base64(rsa_key(1024)), selector="sel1")

    response = owner_client.post(CREATE_URL, data, follow=True)

    assert Identity.objects.get().uses_byodkim
    assert validators.BYODKIM_CLEANED_NOTICE not in response.content.decode()


# --- validation errors: messages next to the field, input kept ------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"domain": ""}, "domain", "Enter a domain, for example example.com."),
        (
            {"domain": "https://example.com/"},
            "domain",
            "Enter only the domain name, without http:// or a path: for example example.com.",
        ),
        (
            {"domain": "localhost"},
            "domain",
            "Enter a full domain with at least two labels, for example example.com.",
        ),
        (
            {"use_mail_from": "on", "mail_from_domain": "example.com"},
            "mail_from_domain",
            "The MAIL FROM domain must be a subdomain of example.com, not the domain itself. "
            "Enter something like mail.example.com.",
        ),
        (
            {"use_mail_from": "on", "mail_from_domain": "mail.other.org"},
            "mail_from_domain",
            "mail.other.org is not a subdomain of example.com. Enter a subdomain such as "
            "mail.example.com.",
        ),
        (
            {"dkim_type": "EXTERNAL", "private_key": "", "selector": "sel1"},
            "private_key",
            "Paste the private key, base64-encoded.",
        ),
        (
            {"dkim_type": "EXTERNAL", "private_key": "bm90IGEga2V5", "selector": "sel1"},
            "private_key",
            "The private key could not be read. Paste an unencrypted RSA key in PKCS#1 or "
            "PKCS#8 format, for example the output of openssl genrsa -f4 2048.",
        ),
        (
            {"dkim_type": "EXTERNAL", "private_key": "bm90IGEga2V5", "selector": "bad.selector"},
            "selector",
            "“bad.selector” is not a valid selector. Use 1–63 letters, digits and hyphens, "
            "not starting or ending with a hyphen, with no dots or other symbols.",
        ),
        (
            {"assign_configuration_set": "on", "configuration_set": ""},
            "configuration_set",
            "Choose a configuration set, or clear “Assign a default configuration set”.",
        ),
        (
            {"assign_configuration_set": "on", "configuration_set": "ghost"},
            "configuration_set",
            "The configuration set ghost doesn't exist in us-east-1. Create it first, or "
            "choose one that exists in this region.",
        ),
        (
            {"tag_key": ["aws:owner"], "tag_value": ["me"]},
            "tags",
            "The tag key “aws:owner” starts with aws:, which is reserved for AWS. Choose "
            "another key.",
        ),
        (
            {"tag_key": ["team", "team"], "tag_value": ["a", "b"]},
            "tags",
            "The tag key “team” appears twice. Each key can be used once per resource.",
        ),
        (
            {"tag_key": ["", ""], "tag_value": ["orphan value", ""]},
            "tags",
            "Enter a tag key; only the value may be empty.",
        ),
    ],
)
def test_create_domain_shows_the_validator_message(
    owner_client: Client, region: Region, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = owner_client.post(CREATE_URL, domain_form(**overrides))

    assert response.status_code == 200
    assert field_errors(response, field) == [message]
    assert not Identity.objects.exists()


def test_create_email_shows_the_validator_message(owner_client: Client, region: Region) -> None:
    response = owner_client.post(CREATE_URL, email_form(email="Sender <sender@example.com>"))

    assert field_errors(response, "email") == [
        "Enter the address alone, without a display name or angle brackets: "
        "sender@example.com, not Sender <sender@example.com>."
    ]


def test_create_existing_identity_is_an_error_on_the_name(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = owner_client.post(CREATE_URL, domain_form(domain="EXAMPLE.com"))

    assert field_errors(response, "domain") == [
        "example.com already exists as an identity in us-east-1."
    ]


def test_create_over_the_region_limit_is_a_banner(
    owner_client: Client, make_domain: Callable, settings
) -> None:
    settings.MAX_IDENTITIES_PER_REGION = 1
    make_domain("first.example")

    response = owner_client.post(CREATE_URL, domain_form())

    assert response.context["form"].non_field_errors() == [
        "This account already has 1 identities in us-east-1, the most SES allows per region. "
        "Delete identities you no longer use first."
    ]


def test_create_error_keeps_everything_the_user_typed(owner_client: Client, region: Region) -> None:
    typed_key = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    data = domain_form(
        domain="example.com",
        use_mail_from="on",
        mail_from_domain="mail.elsewhere.org",
        dkim_type="EXTERNAL",
        private_key=typed_key,
        selector="my-selector",
        tag_key=["team", "env"],
        tag_value=["mail", "prod"],
    )

    html = owner_client.post(CREATE_URL, data).content.decode()

    assert 'value="example.com"' in html
    assert 'value="mail.elsewhere.org"' in html
    assert 'value="my-selector"' in html
    # Except the private key: a secret is never sent back to the browser (issue 6).
    assert "bm90IGEga2V5" not in html
    assert "Paste the private key again" in html
    assert 'name="tag_key" value="team"' in html
    assert 'name="tag_value" value="prod"' in html
    assert 'value="EXTERNAL" id="id_dkim_type_1" checked' in html


# --- the www. warning ---------------------------------------------------------------------------------
def test_create_www_domain_asks_for_confirmation_first(
    owner_client: Client, region: Region
) -> None:
    response = owner_client.post(CREATE_URL, domain_form(domain="www.example.com"))

    html = response.content.decode()
    assert not Identity.objects.exists()
    assert field_errors(response, "confirm_www") == [validators.www_warning("www.example.com")]
    assert "Create www.example.com anyway" in html


def test_create_www_domain_once_confirmed(owner_client: Client, region: Region) -> None:
    response = owner_client.post(
        CREATE_URL, domain_form(domain="www.example.com", confirm_www="on")
    )

    assert response.status_code == 302
    assert Identity.objects.get().name == "www.example.com"


# --- tag rows without JavaScript ----------------------------------------------------------------------
def test_create_add_tag_adds_a_row_and_keeps_input_without_errors(
    owner_client: Client, region: Region
) -> None:
    data = domain_form(domain="", tag_key=["team"], tag_value=["mail"], add_tag="1")

    response = owner_client.post(CREATE_URL, data)

    html = response.content.decode()
    assert not Identity.objects.exists()
    assert [(row.key, row.value) for row in response.context["form"].tag_rows] == [
        ("team", "mail"),
        ("", ""),
    ]
    assert 'id="tag-key-1"' in html
    assert "Enter a domain" not in html  # adding a row is not a submission


def test_create_remove_tag_removes_that_row(owner_client: Client, region: Region) -> None:
    data = domain_form(tag_key=["a", "b", "c"], tag_value=["1", "2", "3"], remove_tag="1")

    response = owner_client.post(CREATE_URL, data)

    assert [(row.key, row.value) for row in response.context["form"].tag_rows] == [
        ("a", "1"),
        ("c", "3"),
    ]
    assert not Identity.objects.exists()


def test_create_more_than_fifty_tags_is_refused(owner_client: Client, region: Region) -> None:
    keys = [f"k{i}" for i in range(51)]
    response = owner_client.post(CREATE_URL, domain_form(tag_key=keys, tag_value=[""] * 51))

    assert field_errors(response, "tags") == [
        "A resource can have at most 50 tags; this would give it 51. Remove some tags first."
    ]


# --- htmx ---------------------------------------------------------------------------------------------
def test_create_htmx_error_returns_the_form_partial(owner_client: Client, region: Region) -> None:
    response = owner_client.post(CREATE_URL, domain_form(domain=""), **HTMX)

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith("<form")
    assert "Enter a domain, for example example.com." in html


def test_create_htmx_success_redirects_the_client(owner_client: Client, region: Region) -> None:
    response = owner_client.post(CREATE_URL, domain_form(), **HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == detail_url("example.com")


# --- "Publish DNS records to my DNS server" ------------------------------------------------------
PUBLISH_LABEL = "Publish DNS records to my DNS server"


def dns_server(account: Account, zone: str) -> DnsServer:
    row = DnsServer(account=account, zone=zone, server="192.0.2.53", port=53, key_name="k")
    row.set_secret(base64.b64encode(b"s" * 32).decode())
    row.save()
    return row


def test_create_publish_option_is_off_and_points_to_dns_servers(
    owner_client: Client, region: Region
) -> None:
    response = owner_client.get(CREATE_URL)

    html = response.content.decode()
    assert PUBLISH_LABEL in html
    assert response.context["form"]["publish_records"].value() is None  # unchecked
    assert f'<a href="{reverse("identities:dns_servers")}">DNS servers</a>' in html


def test_create_with_publish_option_queues_publishing_after_commit(
    owner_client: Client,
    account: Account,
    region: Region,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    dns_server(account, "example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(CREATE_URL, domain_form(publish_records="on"), follow=True)

    identity = Identity.objects.get()
    # The publishing task queues the first DNS check itself, once the records are in place.
    assert queued_tasks() == [
        ("identities.tasks.start_domain_identity", {"identity_id": identity.pk, "then": "publish"}),
    ]
    assert [str(m) for m in response.context["messages"]] == [
        "The identity example.com was created.",
        "Its DNS records are being published to your DNS server; the History below shows the "
        "outcome.",
    ]


def test_create_without_publish_option_queues_the_first_check(
    owner_client: Client,
    account: Account,
    region: Region,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    dns_server(account, "example.com")

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(CREATE_URL, domain_form())

    identity = Identity.objects.get()
    assert queued_tasks() == [
        ("identities.tasks.start_domain_identity", {"identity_id": identity.pk, "then": "check"}),
    ]


def test_create_with_publish_option_needs_a_server_for_the_zone(
    owner_client: Client, account: Account, region: Region
) -> None:
    dns_server(account, "example.org")  # another zone: no help for example.com

    response = owner_client.post(CREATE_URL, domain_form(publish_records="on"))

    assert response.status_code == 200
    assert field_errors(response, "publish_records") == [
        "No DNS server is registered for a zone containing example.com. Add one on the DNS "
        "servers page, or clear “Publish DNS records to my DNS server”."
    ]
    assert not Identity.objects.exists()


def test_create_publish_option_uses_the_closest_zone_and_only_this_account(
    owner_client: Client, account: Account, other_account: Account, region: Region
) -> None:
    dns_server(other_account, "example.com")  # someone else's server never counts
    dns_server(account, "com")

    response = owner_client.post(CREATE_URL, domain_form(publish_records="on"))

    assert response.status_code == 302
    assert Identity.objects.get().name == "example.com"


def test_create_email_ignores_the_publish_option(
    owner_client: Client,
    region: Region,
    django_capture_on_commit_callbacks: Any,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(CREATE_URL, email_form(publish_records="on"))

    identity = Identity.objects.get()
    assert queued_tasks() == [
        ("verification.tasks.start_identity_verification", {"identity_id": identity.pk})
    ]
    assert identity.identity_type == "EMAIL_ADDRESS"
