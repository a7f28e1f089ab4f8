"""The identity's edit pages: DKIM, MAIL FROM, configuration set, tags, feedback forwarding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Region
from identities import forms, provisioning, tasks, validators
from identities.models import ConfigurationSet, DkimKey, Identity, IdentityEvent, Tag
from sesconsole.enqueue import send_now
from tests.support.keys import der_base64, pem, rsa_key

HTMX = {"HTTP_HX_REQUEST": "true"}
EDITS = ["edit_dkim", "edit_mail_from", "edit_configuration_set", "edit_tags", "edit_feedback"]


def url(view: str, name: str = "example.com") -> str:
    return reverse(f"identities:{view}", kwargs={"region": "us-east-1", "name": name})


def dkim_form(**overrides: Any) -> dict[str, Any]:
    data = {"dkim_type": "AWS_SES", "key_length": "RSA_2048_BIT", "dkim_signing_enabled": "on"}
    data.update(overrides)
    return data


def events(identity: Identity) -> list[tuple[str, str, str]]:
    return list(identity.events.order_by("id").values_list("kind", "message", "actor"))


def reload(identity: Identity) -> Identity:
    return Identity.objects.get(pk=identity.pk)


@pytest.fixture
def domain(make_domain: Callable) -> Identity:
    return make_domain("example.com")


# --- access matrix for every edit page ---------------------------------------------------------
@pytest.mark.parametrize("view", EDITS)
def test_edit_outsider_gets_404(outsider_client: Client, domain: Identity, view: str) -> None:
    assert outsider_client.get(url(view)).status_code == 404
    assert outsider_client.post(url(view), {}).status_code == 404


@pytest.mark.parametrize("view", EDITS)
def test_edit_anonymous_redirects_to_login(client: Client, domain: Identity, view: str) -> None:
    response = client.post(url(view), {})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("view", EDITS)
def test_edit_wrong_method_is_405(owner_client: Client, domain: Identity, view: str) -> None:
    assert owner_client.put(url(view)).status_code == 405


@pytest.mark.parametrize("view", EDITS)
def test_edit_teammate_opens_the_form(teammate_client: Client, domain: Identity, view: str) -> None:
    response = teammate_client.get(url(view))

    assert response.status_code == 200
    assert "Save changes" in response.content.decode()


@pytest.mark.parametrize("view", EDITS)
def test_edit_htmx_get_returns_the_form_partial(
    owner_client: Client, domain: Identity, view: str
) -> None:
    html = owner_client.get(url(view), **HTMX).content.decode()

    assert "<html" not in html
    assert html.lstrip().startswith("<form")


# --- DKIM ---------------------------------------------------------------------------------------
def test_dkim_turn_signing_off(teammate_client: Client, domain: Identity) -> None:
    response = teammate_client.post(url("edit_dkim"), dkim_form(dkim_signing_enabled=""))

    assert response["Location"] == url("detail")
    assert reload(domain).dkim_signing_enabled is False
    assert events(domain)[-1] == ("dkim_signing", "DKIM signing disabled.", "teammate")


def test_dkim_key_length_change_queues_key_generation(
    owner_client: Client, domain: Identity, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        owner_client.post(url("edit_dkim"), dkim_form(key_length="RSA_1024_BIT"))

    identity = reload(domain)
    assert identity.dkim_next_key_length == "RSA_1024_BIT"
    assert identity.dkim_status == "PENDING"
    assert events(identity)[-1] == (
        "dkim_key_length",
        "DKIM key length set to RSA_1024_BIT.",
        "owner",
    )
    assert [(c.func, c.args, c.keywords) for c in callbacks] == [
        (send_now, ("identities.tasks.generate_easy_dkim_keys",), {"identity_id": identity.pk})
    ]


def test_dkim_key_length_change_twice_in_24_hours_is_refused(
    owner_client: Client, domain: Identity
) -> None:
    owner_client.post(url("edit_dkim"), dkim_form(key_length="RSA_1024_BIT"))
    changed_at = reload(domain).dkim_key_length_changed_at

    response = owner_client.post(url("edit_dkim"), dkim_form(key_length="RSA_2048_BIT"))

    allowed_at = changed_at + timedelta(hours=24)
    expected = (
        "The input you provided is invalid: The DKIM signing key length can be changed once "
        f"every 24 hours. You can change it again after {allowed_at:%Y-%m-%d %H:%M} UTC."
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [expected]
    assert expected in response.content.decode()
    assert reload(domain).dkim_next_key_length == "RSA_1024_BIT"


def test_dkim_switch_to_byodkim_with_pem(owner_client: Client, domain: Identity) -> None:
    key = rsa_key(1024)
    data = dkim_form(dkim_type="EXTERNAL", selector="sel2", private_key=pem(key))

    response = owner_client.post(url("edit_dkim"), data, follow=True)

    identity = reload(domain)
    assert identity.dkim_origin == "EXTERNAL"
    assert identity.dkim_tokens == ["sel2"]
    assert DkimKey.objects.get(identity=identity).private_key_base64() == der_base64(key)
    assert validators.BYODKIM_CLEANED_NOTICE in response.content.decode()
    assert events(identity)[-1] == (
        "dkim_byodkim",
        "DKIM set to BYODKIM with selector sel2 (1024-bit key).",
        "owner",
    )


def test_dkim_byodkim_keeps_the_stored_key_when_only_signing_changes(
    owner_client: Client, make_domain: Callable
) -> None:
    parsed = validators.parse_byodkim_private_key(der_base64(rsa_key(1024)))
    identity = make_domain("example.com", dkim=provisioning.Byodkim(selector="sel1", key=parsed))
    stored = DkimKey.objects.get(identity=identity).pk

    owner_client.post(
        url("edit_dkim"), dkim_form(dkim_type="EXTERNAL", selector="sel1", dkim_signing_enabled="")
    )

    assert DkimKey.objects.get(identity=identity).pk == stored
    assert reload(identity).dkim_signing_enabled is False


def test_dkim_switch_back_to_easy_dkim_and_generate_keys(
    owner_client: Client, make_domain: Callable, django_capture_on_commit_callbacks
) -> None:
    parsed = validators.parse_byodkim_private_key(der_base64(rsa_key(1024)))
    identity = make_domain("example.com", dkim=provisioning.Byodkim(selector="sel1", key=parsed))

    with django_capture_on_commit_callbacks() as callbacks:
        owner_client.post(url("edit_dkim"), dkim_form(key_length="RSA_1024_BIT"))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)

    identity = reload(identity)
    assert identity.dkim_origin == "AWS_SES"
    assert len(identity.dkim_tokens) == 3
    assert sorted(identity.dkim_keys.values_list("selector", flat=True)) == sorted(
        identity.dkim_tokens
    )
    assert identity.dkim_current_key_length == "RSA_1024_BIT"
    assert len(callbacks) == 1
    assert events(identity)[-1] == (
        "dkim_easy",
        "DKIM switched to Easy DKIM (RSA_1024_BIT).",
        "owner",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"selector": "", "private_key": ""},
            "selector",
            "Enter the selector name you published the public key under.",
        ),
        (
            {"selector": "sel1", "private_key": ""},
            "private_key",
            "Paste the private key, base64-encoded.",
        ),
        (
            {"selector": "sel1", "private_key": "not base64!"},
            "private_key",
            "The private key must be base64 (letters, digits, + and /, ending in at most two =). "
            "Paste the text between the BEGIN and END lines of the PEM file.",
        ),
    ],
)
def test_dkim_byodkim_errors(
    owner_client: Client, domain: Identity, overrides: dict[str, str], field: str, message: str
) -> None:
    response = owner_client.post(url("edit_dkim"), dkim_form(dkim_type="EXTERNAL", **overrides))

    assert response.context["form"].errors[field] == [message]
    assert (
        f'value="{overrides["selector"]}"' in response.content.decode() or not overrides["selector"]
    )
    assert reload(domain).dkim_origin == "AWS_SES"


def test_dkim_email_identity_only_has_the_signing_override(
    owner_client: Client, make_email: Callable
) -> None:
    identity = make_email("sender@example.com")

    page = owner_client.get(url("edit_dkim", "sender@example.com")).content.decode()
    owner_client.post(url("edit_dkim", "sender@example.com"), {"dkim_signing_enabled": "on"})

    assert 'name="dkim_type"' not in page
    assert reload(identity).dkim_signing_enabled is True


def test_dkim_htmx_error_returns_the_form_with_the_banner(
    owner_client: Client, domain: Identity
) -> None:
    Identity.objects.filter(pk=domain.pk).update(
        dkim_next_key_length="RSA_1024_BIT", dkim_key_length_changed_at=timezone.now()
    )

    html = owner_client.post(
        url("edit_dkim"), dkim_form(key_length="RSA_2048_BIT"), **HTMX
    ).content.decode()

    assert "<html" not in html
    assert html.lstrip().startswith("<form")
    assert (
        "The input you provided is invalid: The DKIM signing key length can be changed once every 24 hours."
        in html
    )


def test_dkim_htmx_success_redirects_the_client(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(url("edit_dkim"), dkim_form(dkim_signing_enabled=""), **HTMX)

    assert response["HX-Redirect"] == url("detail")


# --- MAIL FROM ----------------------------------------------------------------------------------
def test_mail_from_set(owner_client: Client, domain: Identity) -> None:
    data = {
        "use_mail_from": "on",
        "mail_from_domain": "Mail.Example.com",
        "mail_from_behavior": "REJECT_MESSAGE",
    }

    response = owner_client.post(url("edit_mail_from"), data)

    identity = reload(domain)
    assert response["Location"] == url("detail")
    assert (identity.mail_from_domain, identity.mail_from_behavior, identity.mail_from_status) == (
        "mail.example.com",
        "REJECT_MESSAGE",
        "PENDING",
    )
    assert events(identity)[-1] == (
        "mail_from",
        "Custom MAIL FROM domain set to mail.example.com.",
        "owner",
    )


def test_mail_from_remove(owner_client: Client, make_domain: Callable) -> None:
    identity = make_domain("example.com", mail_from_domain="mail.example.com")

    owner_client.post(
        url("edit_mail_from"),
        {"mail_from_domain": "mail.example.com", "mail_from_behavior": "USE_DEFAULT_VALUE"},
    )

    identity = reload(identity)
    assert (identity.mail_from_domain, identity.mail_from_status) == ("", "")
    assert events(identity)[-1][1] == "Custom MAIL FROM domain removed."


def test_mail_from_error_keeps_the_input(owner_client: Client, domain: Identity) -> None:
    data = {
        "use_mail_from": "on",
        "mail_from_domain": "bounce.other.org",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
    }

    response = owner_client.post(url("edit_mail_from"), data)

    assert response.context["form"].errors["mail_from_domain"] == [
        "bounce.other.org is not a subdomain of example.com. Enter a subdomain such as mail.example.com."
    ]
    assert 'value="bounce.other.org"' in response.content.decode()
    assert reload(domain).mail_from_domain == ""


def test_mail_from_is_for_domains_only(owner_client: Client, make_email: Callable) -> None:
    make_email("sender@example.com")

    response = owner_client.get(url("edit_mail_from", "sender@example.com"))

    assert response["Location"] == url("detail", "sender@example.com")


# --- configuration set ------------------------------------------------------------------------------
def test_configuration_set_choose_and_clear(
    owner_client: Client, domain: Identity, account: Account, region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="marketing")

    chosen = owner_client.post(url("edit_configuration_set"), {"configuration_set": "marketing"})
    assert reload(domain).configuration_set_name == "marketing"
    owner_client.post(url("edit_configuration_set"), {"configuration_set": ""})

    assert chosen["Location"] == url("tab_configuration_set")
    assert reload(domain).configuration_set_name == ""
    assert [e[1] for e in events(domain)[-2:]] == [
        "Default configuration set set to marketing.",
        "Default configuration set removed.",
    ]


def test_configuration_set_from_another_region_is_refused(
    owner_client: Client, domain: Identity, account: Account, other_region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=other_region, name="ireland")

    response = owner_client.post(url("edit_configuration_set"), {"configuration_set": "ireland"})

    assert response.context["form"].errors["configuration_set"] == [
        "The configuration set ireland doesn't exist in us-east-1. Create it first, or choose "
        "one that exists in this region."
    ]
    assert reload(domain).configuration_set_name == ""


# --- tags ---------------------------------------------------------------------------------------------
def test_tags_replace_the_whole_set(owner_client: Client, domain: Identity) -> None:
    Tag.objects.create(identity=domain, key="old", value="x")

    response = owner_client.post(
        url("edit_tags"), {"tag_key": ["team", "env", ""], "tag_value": ["mail", "", ""]}
    )

    assert response["Location"] == url("tab_tags")
    assert sorted(domain.tags.values_list("key", "value")) == [("env", ""), ("team", "mail")]
    assert events(domain)[-1] == ("tags", "Tags saved: 2 tags.", "owner")


def test_tags_edit_form_starts_with_the_current_tags(
    owner_client: Client, domain: Identity
) -> None:
    Tag.objects.create(identity=domain, key="team", value="mail")

    html = owner_client.get(url("edit_tags")).content.decode()

    assert 'name="tag_key" value="team"' in html
    assert 'name="tag_value" value="mail"' in html


def test_tags_error_keeps_every_row(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(
        url("edit_tags"), {"tag_key": ["ok", "bad<key>"], "tag_value": ["1", "2"]}
    )

    html = response.content.decode()
    assert response.context["form"].errors["tags"] == [
        "The tag key “bad<key>” contains “<”. Tags can contain letters, digits, spaces and _ . : / = + - only."
    ]
    assert 'name="tag_key" value="ok"' in html
    assert 'name="tag_key" value="bad&lt;key&gt;"' in html
    assert not domain.tags.exists()


def test_tags_add_row_without_js(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(
        url("edit_tags"), {"tag_key": ["a"], "tag_value": ["1"], "add_tag": "1"}
    )

    assert len(response.context["form"].tag_rows) == 2
    assert not domain.tags.exists()


# --- feedback forwarding ----------------------------------------------------------------------------------
def test_feedback_forwarding_disable(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(url("edit_feedback"), {})

    assert response["Location"] == url("tab_notifications")
    assert reload(domain).feedback_forwarding_enabled is False
    assert events(domain)[-1] == (
        "feedback_forwarding",
        "Email feedback forwarding disabled.",
        "owner",
    )


def test_feedback_forwarding_htmx_success_redirects_the_client(
    owner_client: Client, domain: Identity
) -> None:
    response = owner_client.post(
        url("edit_feedback"), {"feedback_forwarding_enabled": "on"}, **HTMX
    )

    assert response["HX-Redirect"] == url("tab_notifications")
    assert IdentityEvent.objects.filter(identity=domain, kind="feedback_forwarding").count() == 1


def test_invalid_input_prefix_matches_ses_banner() -> None:
    assert forms.INVALID_INPUT_PREFIX == "The input you provided is invalid: "
