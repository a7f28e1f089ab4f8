"""The identity page: summary, tabs, record tables and the pending-status poll."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities import provisioning
from identities.models import ConfigurationSet, Identity, Tag, VerificationStatus
from tests.support.keys import der_base64, rsa_key, spki_base64

HTMX = {"HTTP_HX_REQUEST": "true"}
TABS = ["detail", "tab_configuration_set", "tab_tags", "tab_notifications"]


def url(view: str, name: str = "example.com", region: str = "us-east-1") -> str:
    return reverse(f"identities:{view}", kwargs={"region": region, "name": name})


def settle(identity: Identity) -> None:
    Identity.objects.filter(pk=identity.pk).update(
        verification_status=VerificationStatus.SUCCESS, dkim_status=VerificationStatus.SUCCESS
    )


# --- access -----------------------------------------------------------------------------------
def test_detail_other_region_is_404(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    assert owner_client.get(url("detail", region="eu-west-1")).status_code == 404


def test_detail_unknown_identity_is_404(owner_client: Client, region: Region) -> None:
    assert owner_client.get(url("detail", "nothing.example")).status_code == 404


# --- summary and Authentication tab -------------------------------------------------------------
def test_detail_summary(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    html = owner_client.get(url("detail")).content.decode()

    assert "<dt>Identity status</dt>" in html
    assert "arn:aws:ses:us-east-1:111111111111:identity/example.com" in html
    assert "US East (N. Virginia) (us-east-1)" in html
    assert "Amazon SES</a></li>" in html
    assert '<span aria-current="page">example.com</span>' in html
    assert 'aria-current="page">Authentication</a>' in html


def test_detail_authentication_lists_easy_dkim_cnames_and_dmarc(
    owner_client: Client, make_domain: Callable
) -> None:
    identity = make_domain("example.com")

    response = owner_client.get(url("detail"))

    html = response.content.decode()
    names = [(r.type, r.name, r.value) for r in response.context["dkim_records"]]
    assert names == [
        ("CNAME", f"{token}._domainkey.example.com", f"{token}.dkim.amazonses.com")
        for token in identity.dkim_tokens
    ]
    for token in identity.dkim_tokens:
        assert (
            f'<code id="dkim-value-{identity.dkim_tokens.index(token) + 1}">{token}.dkim.amazonses.com</code>'
            in html
        )
    assert "_dmarc.example.com" in html
    assert "&quot;v=DMARC1; p=none;&quot;" in html
    assert 'data-copy-target="dkim-value-1"' in html
    assert "Download .csv record set" in html
    assert url("records_csv") in html
    assert url("records_zone") in html


def test_detail_mail_from_not_started_shows_dashes(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    html = owner_client.get(url("detail")).content.decode()

    assert "<dt>MAIL FROM domain</dt><dd>-</dd>" in html
    assert "<dt>Behavior on MX failure</dt><dd>-</dd>" in html
    assert "—</span>Not started" in html


def test_detail_mail_from_records(owner_client: Client, make_domain: Callable) -> None:
    make_domain(
        "example.com", mail_from_domain="mail.example.com", mail_from_behavior="REJECT_MESSAGE"
    )

    response = owner_client.get(url("detail"))

    html = response.content.decode()
    assert [(r.type, r.name, r.value) for r in response.context["mail_from_records"]] == [
        ("MX", "mail.example.com", "10 feedback-smtp.us-east-1.amazonses.com"),
        ("TXT", "mail.example.com", '"v=spf1 include:amazonses.com ~all"'),
    ]
    assert "<dt>Behavior on MX failure</dt><dd>Reject message</dd>" in html
    assert "10 feedback-smtp.us-east-1.amazonses.com" in html


def test_detail_byodkim_shows_the_txt_record_with_the_public_key(
    owner_client: Client, make_domain: Callable
) -> None:
    from sesconsole import validators

    key = rsa_key(1024)
    parsed = validators.parse_byodkim_private_key(der_base64(key))
    make_domain("example.com", dkim=provisioning.Byodkim(selector="sel1", key=parsed))

    response = owner_client.get(url("detail"))

    assert [(r.type, r.name, r.value) for r in response.context["dkim_records"]] == [
        ("TXT", "sel1._domainkey.example.com", f"p={spki_base64(key)}")
    ]
    assert "<dt>Selector</dt><dd>sel1</dd>" in response.content.decode()


def test_detail_email_shows_only_the_signing_override_and_a_note(
    owner_client: Client, make_email: Callable
) -> None:
    make_email("sender+news@example.com")

    response = owner_client.get(url("detail", "sender+news@example.com"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<dt>DKIM signatures</dt><dd>Disabled</dd>" in html
    assert "Messages from this address are not DKIM-signed" in html
    assert "Publish DNS records" not in html
    assert "Custom MAIL FROM domain" not in html


def test_detail_email_under_a_verified_domain_inherits(
    owner_client: Client, make_email: Callable, make_domain: Callable
) -> None:
    settle(make_domain("example.com"))
    make_email("sender@example.com")

    html = owner_client.get(url("detail", "sender@example.com")).content.decode()

    assert "not DKIM-signed" not in html
    assert (
        "DKIM is inherited from the verified domain example.com: messages from this address "
        "are signed with its keys." in html
    )


def test_detail_email_under_a_domain_that_does_not_sign_says_unsigned(
    owner_client: Client, make_email: Callable, make_domain: Callable
) -> None:
    # The tab says what the mailer does (hierarchy.dkim_signing_identity): a verified domain
    # with DKIM signatures disabled signs nothing, so the address is not "signed with its keys".
    domain = make_domain("example.com")
    settle(domain)
    Identity.objects.filter(pk=domain.pk).update(dkim_signing_enabled=False)
    make_email("sender@example.com")

    html = owner_client.get(url("detail", "sender@example.com")).content.decode()

    assert "signed with its keys" not in html
    assert "Messages from this address are not DKIM-signed" in html


def test_detail_url_encodes_unusual_addresses(owner_client: Client, make_email: Callable) -> None:
    make_email("o'neil/ops@example.com")

    detail = url("detail", "o'neil/ops@example.com")
    response = owner_client.get(detail)

    assert detail == "/us-east-1/verified-identities/o'neil/ops@example.com/"
    assert response.status_code == 200
    assert response.context["identity"].name == "o'neil/ops@example.com"


# --- other tabs ---------------------------------------------------------------------------------
def test_detail_configuration_set_tab(
    owner_client: Client, make_domain: Callable, account: Account, region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="marketing")
    make_domain("example.com", configuration_set_name="marketing")

    html = owner_client.get(url("tab_configuration_set")).content.decode()

    assert (
        '<dt>Default configuration set</dt><dd><a href="/us-east-1/configuration-sets/marketing/">'
        "marketing</a></dd>"
    ) in html
    assert 'aria-current="page">Configuration set</a>' in html
    assert "no longer exists" not in html


def test_detail_configuration_set_tab_warns_about_a_deleted_set(
    owner_client: Client, make_domain: Callable, account: Account, region: Region
) -> None:
    config_set = ConfigurationSet.objects.create(account=account, region=region, name="marketing")
    make_domain("example.com", configuration_set_name="marketing")
    config_set.delete()

    html = owner_client.get(url("tab_configuration_set")).content.decode()

    assert (
        "The configuration set marketing no longer exists in us-east-1. Messages sent from this "
        "identity without a configuration set fail until you choose another default or create "
        "marketing again."
    ) in html


def test_detail_tags_tab(owner_client: Client, make_domain: Callable) -> None:
    identity = make_domain("example.com")
    Tag.objects.create(identity=identity, key="team", value="mail")

    html = owner_client.get(url("tab_tags")).content.decode()

    assert 'Tags <span class="counter">(1)</span>' in html
    assert "<tr><td>team</td><td>mail</td></tr>" in html


def test_detail_notifications_tab(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    html = owner_client.get(url("tab_notifications")).content.decode()

    assert "Email feedback forwarding" in html
    assert "✓</span>Enabled" in html


# --- htmx: tabs and the pending poll --------------------------------------------------------------
def test_detail_htmx_tab_returns_only_the_tabs_partial(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = owner_client.get(url("tab_tags"), **HTMX)

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="identity-tabs" class="tabs">')
    assert 'aria-current="page">Tags</a>' in html
    assert response["Vary"] == "HX-Request, Cookie"


def test_detail_history_restore_gets_the_whole_page(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = owner_client.get(url("tab_tags"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)

    assert "<html" in response.content.decode()


def test_detail_tab_links_work_without_js(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    html = owner_client.get(url("detail")).content.decode()

    tags = url("tab_tags")
    assert f'href="{tags}" hx-get="{tags}" hx-target="#identity-tabs"' in html


def test_detail_polls_while_pending(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    html = owner_client.get(url("detail")).content.decode()

    assert f'hx-get="{url("status")}" hx-trigger="every 5s"' in html


def test_detail_does_not_poll_once_settled(owner_client: Client, make_domain: Callable) -> None:
    settle(make_domain("example.com"))

    html = owner_client.get(url("detail")).content.decode()

    assert "every 5s" not in html
    assert "✓</span>Verified" in html


def test_status_poll_while_pending_returns_the_partial_with_its_trigger(
    owner_client: Client, make_domain: Callable
) -> None:
    make_domain("example.com")

    response = owner_client.get(url("status"), **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<span id="identity-status" hx-get=')
    assert 'hx-trigger="every 5s"' in html


def test_status_poll_once_settled_refreshes_the_page(
    owner_client: Client, make_domain: Callable
) -> None:
    settle(make_domain("example.com"))

    response = owner_client.get(url("status"), **HTMX)

    assert response["HX-Refresh"] == "true"


def test_status_without_htmx_goes_to_the_page(owner_client: Client, make_domain: Callable) -> None:
    make_domain("example.com")

    response = owner_client.get(url("status"))

    assert response.status_code == 302
    assert response["Location"] == url("detail")


@pytest.mark.parametrize(("with_status", "columns"), [(False, 3), (True, 4)])
def test_records_table_empty_row_spans_every_column(with_status: bool, columns: int) -> None:
    html = render_to_string(
        "identities/_records_table.html",
        {"records": [], "with_status": with_status, "checks": {}, "empty": "None."},
    )
    assert html.count('<th scope="col">') == columns
    assert f'<td colspan="{columns}" class="table__empty">None.</td>' in html
