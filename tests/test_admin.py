"""Django admin as the operator uses it: every page renders, no secret ever shows, actions
go through the model methods."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccessKey, Account, AccountRegion, LoginAttempt, Region
from identities import operations, tasks
from identities.models import (
    ConfigurationSet,
    DkimKey,
    DnsServer,
    Identity,
    IdentityPolicy,
    KeyLength,
    RecordCheck,
    Tag,
)
from identities.provisioning import Byodkim, EasyDkim
from identities.validators import TagPair, parse_byodkim_private_key
from templates_app.models import CustomVerificationEmailTemplate
from tests.support import keys

pytestmark = pytest.mark.django_db

TSIG_SECRET = "dHNpZy1zZWNyZXQtZm9yLWFkbWluLXRlc3Q="


@dataclass
class Secrets:
    values: list[str]


@pytest.fixture
def populated(
    account: Account,
    owner: Any,
    region: Region,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> Secrets:
    """At least one row of every model, and the plaintext secrets behind them."""
    Group.objects.create(name="operators")
    account.region_settings(region)
    _, access_secret = AccessKey.issue(account, description="ci")
    ConfigurationSet.objects.create(account=account, region=region, name="marketing")
    byo = make_domain(
        "byo.example.com",
        dkim=Byodkim("sel", parse_byodkim_private_key(keys.der_base64(keys.rsa_key(2048)))),
        tags=[TagPair("env", "prod")],
        configuration_set_name="marketing",
    )
    easy = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    tasks.generate_easy_dkim_keys.run(identity_id=easy.pk)
    make_email("sender@example.com")
    byo.mark_verified()
    IdentityPolicy.objects.create(identity=byo, name="allow", document='{"Version": "2012-10-17"}')
    RecordCheck.objects.create(
        identity=easy,
        purpose="DKIM",
        name=f"{easy.dkim_tokens[0]}._domainkey.example.com",
        record_type="CNAME",
        status="PENDING",
        error="HOST_NOT_FOUND",
        checked_at=easy.created_at,
    )
    server = DnsServer(account=account, zone="example.com", server="127.0.0.1", key_name="tsig")
    server.set_secret(TSIG_SECRET)
    server.save()
    CustomVerificationEmailTemplate.objects.create(
        account=account,
        region=region,
        name="welcome",
        from_email_address="sender@example.com",
        subject="Please verify",
        content="<p>Hello</p>",
        success_redirection_url="https://example.com/ok",
        failure_redirection_url="https://example.com/fail",
    )
    LoginAttempt.record_failure("someone", "192.0.2.1")  # the sign-in rate limit's rows
    values = [access_secret, TSIG_SECRET]
    for key in DkimKey.objects.all():
        private = key.private_key_base64()
        values += [private, private[64:128], key.private_key_encrypted]
    values += list(AccessKey.objects.values_list("secret_encrypted", flat=True))
    values += list(DnsServer.objects.values_list("key_secret_encrypted", flat=True))
    return Secrets(values)


def admin_urls() -> list[str]:
    """Every changelist, add page (when allowed) and change page of every registered model."""
    urls = ["/admin/"]
    for model in admin.site._registry:
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        urls += [
            reverse(f"{prefix}_change", args=[quote(pk)])
            for pk in model.objects.values_list("pk", flat=True)
        ]
    return urls


def test_admin_every_page_renders_for_operator(operator_client: Client, populated: Secrets) -> None:
    # Other apps register their own models; ours must all have a row so their pages render.
    ours = {"auth", "accounts", "identities", "templates_app"}
    missing = [
        model._meta.label
        for model in admin.site._registry
        if model._meta.app_label in ours and not model.objects.exists()
    ]
    assert missing == []
    failures = {
        url: status
        for url in admin_urls()
        if (status := operator_client.get(url).status_code) != 200
    }
    assert failures == {}


def test_admin_add_pages_render(operator_client: Client, populated: Secrets) -> None:
    failures = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        response = operator_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        expected = 200 if model_admin.has_add_permission(_request_for_operator()) else 403
        if response.status_code != expected:
            failures[opts.label] = response.status_code
    assert failures == {}


def _request_for_operator() -> Any:
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="operator")
    return request


def test_admin_never_shows_secrets(operator_client: Client, populated: Secrets) -> None:
    urls = admin_urls()
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    pages = {url: operator_client.get(url).content.decode() for url in urls}
    leaks = [
        (url, secret[:12])
        for url, page in pages.items()
        for secret in populated.values
        if secret in page
    ]
    assert leaks == []


def test_admin_identity_search(operator_client: Client, populated: Secrets) -> None:
    url = reverse("admin:identities_identity_changelist")
    by_name = operator_client.get(url, {"q": "byo.example"})
    assert [i.name for i in by_name.context["cl"].result_list] == ["byo.example.com"]
    by_account = operator_client.get(url, {"q": "111111111111"})
    assert by_account.context["cl"].result_count == 3
    assert operator_client.get(url, {"q": "222222222222"}).context["cl"].result_count == 0


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"identity_type__exact": "EMAIL_ADDRESS"}, ["sender@example.com"]),
        ({"verification_status__exact": "SUCCESS"}, ["byo.example.com"]),
        ({"dkim_status__exact": "NOT_STARTED"}, ["sender@example.com"]),
        (
            {"region__code__exact": "us-east-1"},
            ["byo.example.com", "example.com", "sender@example.com"],
        ),
        ({"region__code__exact": "eu-west-1"}, []),
    ],
)
def test_admin_identity_filters(
    operator_client: Client, populated: Secrets, params: dict[str, str], names: list[str]
) -> None:
    response = operator_client.get(reverse("admin:identities_identity_changelist"), params)
    assert response.status_code == 200
    assert sorted(i.name for i in response.context["cl"].result_list) == names


def test_admin_other_searches(operator_client: Client, populated: Secrets) -> None:
    key = AccessKey.objects.get()
    cases = {
        "admin:accounts_accesskey_changelist": (key.access_key_id[:10], 1),
        "admin:accounts_account_changelist": ("1111", 1),
        "admin:identities_dkimkey_changelist": ("sel", 1),
        "admin:identities_tag_changelist": ("env", 1),
        "admin:identities_recordcheck_changelist": ("_domainkey", 1),
        "admin:identities_dnsserver_changelist": ("example.com", 1),
        "admin:templates_app_customverificationemailtemplate_changelist": ("welcome", 1),
        "admin:identities_configurationset_changelist": ("market", 1),
    }
    counts = {
        name: operator_client.get(reverse(name), {"q": q}).context["cl"].result_count
        for name, (q, _) in cases.items()
    }
    assert counts == {name: expected for name, (_, expected) in cases.items()}


def test_admin_identity_changelist_query_count_constant(
    operator_client: Client, make_domain: Callable[..., Identity]
) -> None:
    url = reverse("admin:identities_identity_changelist")
    make_domain("a1.example.com")
    operator_client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert operator_client.get(url).status_code == 200
    for i in range(2, 6):
        make_domain(f"a{i}.example.com")
    with CaptureQueriesContext(connection) as five:
        response = operator_client.get(url)
    assert response.context["cl"].result_count == 5
    assert len(five) == len(one)


def test_admin_grant_and_deny_production_access(
    operator_client: Client, account: Account, region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = account.region_settings(region)
    calls: list[str] = []
    for name in ("grant_production_access", "deny_production_access"):
        original = getattr(AccountRegion, name)

        def spy(self: AccountRegion, _original: Any = original, _name: str = name) -> None:
            calls.append(_name)
            _original(self)

        monkeypatch.setattr(AccountRegion, name, spy)
    url = reverse("admin:accounts_accountregion_changelist")
    response = operator_client.post(
        url, {"action": "grant_production_access", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.production_access_enabled, row.review_status) == (True, "GRANTED")
    operator_client.post(url, {"action": "deny_production_access", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.production_access_enabled, row.review_status) == (False, "DENIED")
    assert calls == ["grant_production_access", "deny_production_access"]


def test_admin_deactivate_and_activate_access_key(
    operator_client: Client, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = AccessKey.issue(account)
    calls: list[str] = []
    original = AccessKey.deactivate

    def spy(self: AccessKey) -> None:
        calls.append(self.access_key_id)
        original(self)

    monkeypatch.setattr(AccessKey, "deactivate", spy)
    url = reverse("admin:accounts_accesskey_changelist")
    response = operator_client.post(url, {"action": "deactivate", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.status, calls) == ("Inactive", [key.access_key_id])
    operator_client.post(url, {"action": "activate", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.status == "Active"


def test_admin_create_access_key_shows_secret_once(
    operator_client: Client, account: Account
) -> None:
    url = reverse("admin:accounts_account_changelist")
    response = operator_client.post(
        url, {"action": "create_access_key", "_selected_action": [account.pk]}, follow=True
    )
    key = AccessKey.objects.get()
    secret = key.secret()
    [message] = [str(m) for m in response.context["messages"]]
    assert message == (
        f"Access key {key.access_key_id} for Owner&#x27;s account (111111111111): secret access "
        f"key <code>{secret}</code>. Copy it now: it is shown only this once and can't be read "
        "again."
    )
    assert key.description == "Issued in admin by operator"
    again = operator_client.get(reverse("admin:accounts_accesskey_change", args=[key.pk]))
    assert secret not in again.content.decode()
    assert secret not in operator_client.get(url).content.decode()


def test_admin_access_key_cannot_be_added_directly(operator_client: Client) -> None:
    assert operator_client.get(reverse("admin:accounts_accesskey_add")).status_code == 403


def test_admin_dns_server_tsig_secret_is_write_only(
    operator_client: Client, account: Account
) -> None:
    data = {
        "account": account.pk,
        "zone": "example.com",
        "server": "127.0.0.1",
        "port": 53,
        "key_name": "tsig",
        "key_algorithm": "hmac-sha256",
        "tsig_secret": TSIG_SECRET,
    }
    response = operator_client.post(reverse("admin:identities_dnsserver_add"), data)
    assert response.status_code == 302
    server = DnsServer.objects.get()
    assert server.secret() == TSIG_SECRET
    change_url = reverse("admin:identities_dnsserver_change", args=[server.pk])
    assert TSIG_SECRET not in operator_client.get(change_url).content.decode()
    # Saving with the field blank keeps the stored secret.
    response = operator_client.post(change_url, {**data, "port": 5353, "tsig_secret": ""})
    assert response.status_code == 302
    server.refresh_from_db()
    assert (server.port, server.secret()) == (5353, TSIG_SECRET)


def test_admin_dns_server_requires_secret_on_add(operator_client: Client, account: Account) -> None:
    response = operator_client.post(
        reverse("admin:identities_dnsserver_add"),
        {
            "account": account.pk,
            "zone": "example.com",
            "server": "127.0.0.1",
            "port": 53,
            "key_name": "tsig",
            "key_algorithm": "hmac-sha256",
            "tsig_secret": "",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "tsig_secret": ["Enter the TSIG secret the server shares with sesconsole."]
    }
    assert DnsServer.objects.count() == 0


def test_admin_check_dns_now(
    operator_client: Client,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> None:
    domain = make_domain("example.com")
    email = make_email("a@example.com")
    # An address's custom MAIL FROM domain is checked in DNS (its MX record), as the console does.
    with_mail_from = make_email("b@example.com")
    operations.set_mail_from(with_mail_from, "mail.example.com", actor="test")
    Identity.objects.update(next_check_at=None)
    operator_client.post(
        reverse("admin:identities_identity_changelist"),
        {"action": "check_dns_now", "_selected_action": [domain.pk, email.pk, with_mail_from.pk]},
    )
    due = dict(Identity.objects.values_list("name", "next_check_at"))
    assert {name: at is not None for name, at in due.items()} == {
        "example.com": True,
        "a@example.com": False,
        "b@example.com": True,
    }


def test_admin_tag_inline_validates(operator_client: Client, populated: Secrets) -> None:
    from identities.admin import TagForm

    form = TagForm(data={"key": "aws:reserved", "value": ""})
    assert form.errors == {
        "__all__": [
            "The tag key “aws:reserved” starts with aws:, which is reserved for AWS. Choose "
            "another key."
        ]
    }
    assert Tag.objects.count() == 1


def test_admin_redirects_non_staff_to_login(owner_client: Client) -> None:
    response = owner_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    changelist = reverse("admin:identities_identity_changelist")
    assert owner_client.get(changelist)["Location"] == f"/admin/login/?next={changelist}"


def test_admin_redirects_anonymous_to_login(client: Client) -> None:
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
