"""Security fixtures: a populated owner account, every console URL introspected from the
resolver, per-URL kwargs recipes, a snapshot of the owner's rows, and in-process SigV4 requests.

`console_urls()` walks `get_resolver()` recursively, so a URL added to any urls.py shows up
here by itself; `URL_RECIPES` must then say how to fill its parameters, or the matrix fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import AccessKey, Account, AccountRegion, Membership, Region
from identities import operations, provisioning
from identities.models import (
    ConfigurationSet,
    DkimKey,
    DnsPublishRun,
    DnsServer,
    Identity,
    IdentityEvent,
    IdentityPolicy,
    IdentityType,
    KeyLength,
    Tag,
)
from identities.tasks import generate_easy_dkim_keys
from sending.models import SentMessage
from sesconsole import validators
from templates_app.models import CustomVerificationEmailTemplate
from tests.support import keys
from verification.models import VerificationLink

REGION = "us-east-1"
TSIG_SECRET = "c2VzY29uc29sZS10c2lnLXNlY3JldC1kby1ub3Qtc2hvdw=="  # base64, 32 bytes
SMTP_PASSWORD = "smtp-relay-password-never-shown-7f3a"


# --- the owner's world ---------------------------------------------------------------------
@dataclass
class World:
    """Everything the owner's account holds, with the plain secrets kept for the assertions."""

    account: Account
    region: Region
    domain: Identity  # Easy DKIM, keys generated, tags, MAIL FROM
    byodkim: Identity
    email: Identity
    config_set: ConfigurationSet
    template: CustomVerificationEmailTemplate
    access_key: AccessKey
    access_key_secret: str
    dns_server: DnsServer
    publish_run: DnsPublishRun
    link: VerificationLink
    token: str
    byodkim_private_key: str
    policy: IdentityPolicy
    sent_message: SentMessage
    # Names that only the owner's account contains: none may show on an outsider's page.
    private_names: list[str] = field(default_factory=list)

    def secrets(self) -> dict[str, str]:
        """Every secret by label: private keys (base64 DER) and the plain shared secrets."""
        found = {
            "BYODKIM private key": self.byodkim_private_key,
            "access key secret": self.access_key_secret,
            "TSIG secret": TSIG_SECRET,
            "SMTP password": SMTP_PASSWORD,
            "verification token": self.token,
        }
        for key in DkimKey.objects.filter(identity__account=self.account):
            found[f"DKIM private key {key.selector}"] = key.private_key_base64()
        return found


def _make_world(account: Account, region: Region) -> World:
    domain = operations.create_identity(
        account,
        region,
        provisioning.NewIdentity(
            identity_type=IdentityType.DOMAIN,
            name="owner-only.example",
            dkim=provisioning.EasyDkim(KeyLength.RSA_1024_BIT),
            mail_from_domain="bounce.owner-only.example",
            tags=[validators.TagPair("owner-tag-key", "owner-tag-value")],
        ),
        actor="test",
    )
    generate_easy_dkim_keys.run(identity_id=domain.pk)
    private = keys.der_base64(keys.rsa_key(1024))
    byodkim = operations.create_identity(
        account,
        region,
        provisioning.NewIdentity(
            identity_type=IdentityType.DOMAIN,
            name="owner-byodkim.example",
            dkim=provisioning.Byodkim(
                selector="ownersel", key=validators.parse_byodkim_private_key(private)
            ),
        ),
        actor="test",
    )
    email = operations.create_identity(
        account,
        region,
        provisioning.NewIdentity(
            identity_type=IdentityType.EMAIL_ADDRESS, name="owner.sender@owner-only.example"
        ),
        actor="test",
    )
    config_set = provisioning.create_configuration_set(account, region, "owner-set")
    template = CustomVerificationEmailTemplate.objects.create(
        account=account,
        region=region,
        name="OwnerTemplate",
        from_email_address="owner.sender@owner-only.example",
        subject="Owner subject",
        content="<html><body><p>Owner content</p></body></html>",
        success_redirection_url="https://owner-only.example/ok",
        failure_redirection_url="https://owner-only.example/failed",
    )
    access_key, secret = AccessKey.issue(account, description="owner key")
    dns_server = DnsServer(
        account=account, zone="owner-zone.example", server="127.0.0.1", key_name="owner-tsig"
    )
    dns_server.set_secret(TSIG_SECRET)
    dns_server.save()
    publish_run = DnsPublishRun.objects.create(identity=domain, account=account, actor="owner")
    link = VerificationLink.issue(
        account=account, region=region, email_address=email.name, identity=email
    )
    policy = IdentityPolicy.objects.create(
        identity=domain, name="OwnerPolicy", document='{"Version": "2012-10-17", "Statement": []}'
    )
    sent_message = SentMessage.objects.create(
        account=account,
        region=region,
        message_id="0100018f00000000-owner-sent-message-000000",
        actor="owner",
        operation="SendEmail",
        from_header="owner.sender@owner-only.example",
        from_address="owner.sender@owner-only.example",
        subject="Owner sent subject",
        envelope_from="0100018f00000000-owner-sent-message-000000@amazonses.com",
        recipients=["someone@owner-only.example"],
        recipients_text="someone@owner-only.example",
        mime=b"From: owner.sender@owner-only.example\r\nSubject: Owner sent subject\r\n"
        b"Content-Type: text/html\r\n\r\n<p>Owner sent body</p>\r\n",
    )
    return World(
        account=account,
        region=region,
        domain=domain,
        byodkim=byodkim,
        email=email,
        config_set=config_set,
        template=template,
        access_key=access_key,
        access_key_secret=secret,
        dns_server=dns_server,
        publish_run=publish_run,
        link=link,
        token=link.token(),
        byodkim_private_key=private,
        policy=policy,
        sent_message=sent_message,
        private_names=[
            "owner-only.example",
            "owner-byodkim.example",
            "owner-set",
            "OwnerTemplate",
            access_key.access_key_id,
            "owner-zone.example",
            "Owner sent subject",
            "owner-tag-key",
            "OwnerPolicy",
        ],
    )


@pytest.fixture
def world(account: Account, region: Region, owner: Any, settings: Any) -> World:
    settings.EMAIL_HOST_PASSWORD = SMTP_PASSWORD
    return _make_world(account, region)


@pytest.fixture
def outsider_world(other_account: Account, region: Region, outsider: Any) -> Identity:
    """The outsider's own identity, so their pages have something of their own to show."""
    return operations.create_identity(
        other_account,
        region,
        provisioning.NewIdentity(identity_type=IdentityType.DOMAIN, name="outsider.example"),
        actor="test",
    )


# --- snapshot of the owner's rows ----------------------------------------------------------
def owner_snapshot(account: Account) -> dict[str, list[dict[str, Any]]]:
    """Every row of the owner's account that a request could change, as plain values."""
    identities = Identity.objects.filter(account=account)
    querysets = {
        "identities": identities,
        "tags": Tag.objects.filter(identity__in=identities)
        | Tag.objects.filter(configuration_set__account=account)
        | Tag.objects.filter(template__account=account),
        "configuration_sets": ConfigurationSet.objects.filter(account=account),
        "templates": CustomVerificationEmailTemplate.objects.filter(account=account),
        "access_keys": AccessKey.objects.filter(account=account),
        "dns_servers": DnsServer.objects.filter(account=account),
        "publish_runs": DnsPublishRun.objects.filter(account=account),
        "dkim_keys": DkimKey.objects.filter(identity__account=account),
        "policies": IdentityPolicy.objects.filter(identity__account=account),
        "events": IdentityEvent.objects.filter(identity__account=account),
        "links": VerificationLink.objects.filter(account=account),
        "sent_messages": SentMessage.objects.filter(account=account),
        "account_regions": AccountRegion.objects.filter(account=account),
        "memberships": Membership.objects.filter(account=account),
        "account": Account.objects.filter(pk=account.pk),
    }
    return {name: list(qs.order_by("pk").values()) for name, qs in querysets.items()}


# --- console URLs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsoleUrl:
    name: str  # "namespace:name"
    route: str
    params: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any, dict[str, Any], tuple[str, ...]]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            params = tuple(entry.pattern.converters) if hasattr(entry.pattern, "converters") else ()
            yield name, prefix + str(entry.pattern), entry.callback, entry.default_args, params


def all_url_patterns() -> list[tuple[str, str, Any, dict[str, Any], tuple[str, ...]]]:
    return list(_walk(get_resolver().url_patterns))


def is_api(callback: Any) -> bool:
    # api.localstack (/_aws/ses) answers in JSON like the API; its isolation has its own tests
    # (tests/api/test_localstack_api.py). api.v1.views.root is `/` for the v1 Query API (the
    # console's home stays "home" in accounts.urls, reached through root; v1 isolation is
    # tested in tests/api/v1).
    return callback.__module__ in ("api.views", "api.localstack", "api.v1.views")


def console_urls() -> list[ConsoleUrl]:
    """Every named URL that is neither the admin's nor the SES API's."""
    found = []
    for name, route, callback, defaults, params in all_url_patterns():
        if route.startswith("admin/") or is_api(callback):
            continue
        assert name, f"The console URL {route} has no name: name it so the matrix can reverse it."
        found.append(ConsoleUrl(name, route, params, tuple(sorted(defaults.items()))))
    return found


IDENTITY_URLS = {
    "sending:send_test_email",
    "identities:tab_configuration_set", "identities:tab_tags", "identities:tab_notifications",
    "identities:status", "identities:edit_dkim", "identities:edit_mail_from",
    "identities:edit_configuration_set", "identities:edit_tags", "identities:edit_feedback",
    "identities:delete", "identities:records_csv", "identities:records_zone",
    "identities:check_now", "identities:publish_records", "identities:detail",
    "identities:verify_without_dns", "identities:tab_authorization", "identities:policy_create",
}  # fmt: skip
POLICY_URLS = {"identities:policy_detail", "identities:policy_edit", "identities:policy_delete"}
EMAIL_IDENTITY_URLS = {"sending:send_test_email", "verification:resend", "verification:mail_status"}
TEMPLATE_URLS = {
    "templates_app:detail", "templates_app:edit", "templates_app:delete",
    "templates_app:send_test", "templates_app:preview", "templates_app:edit_tags",
}  # fmt: skip
ACCESS_KEY_URLS = {"access_key_deactivate", "access_key_activate", "access_key_delete"}


def url_kwargs(url: ConsoleUrl, world: World) -> dict[str, str | int]:
    """The parameters of `url` for the owner's objects. Fails for a URL nobody taught it."""
    region = {"region": REGION}
    if url.name in IDENTITY_URLS:
        # The domain with MAIL FROM and tags, except where an email identity is the point.
        return {**region, "name": world.domain.name}
    if url.name in POLICY_URLS:
        return {**region, "name": world.domain.name, "policy": world.policy.name}
    if url.name in EMAIL_IDENTITY_URLS:
        return {**region, "name": world.email.name}
    if url.name in TEMPLATE_URLS:
        return {**region, "name": world.template.name}
    if url.name in ACCESS_KEY_URLS:
        return {"access_key_id": world.access_key.access_key_id}
    recipes: dict[str, dict[str, str | int]] = {
        "identities:configuration_set_delete": {**region, "name": world.config_set.name},
        "identities:configuration_set_detail": {**region, "name": world.config_set.name},
        "identities:dns_server_delete": {"pk": world.dns_server.pk},
        "identities:publish_run": {**region, "name": world.domain.name, "pk": world.publish_run.pk},
        "sending:message": {**region, "message_id": world.sent_message.message_id},
        "sending:message_html": {**region, "message_id": world.sent_message.message_id},
        "sending:message_eml": {**region, "message_id": world.sent_message.message_id},
        # Never the real token here: the matrix must not consume it (tokens have own tests).
        "verification:confirm": {"token": "not-a-real-token"},
    }
    if url.name in recipes:
        return recipes[url.name]
    if url.params == ("region",):
        return region
    if not url.params:
        return {}
    raise AssertionError(
        f"No kwargs recipe for the URL {url.name} ({url.route}): add one to "
        "tests/security/conftest.py so the security matrix covers it."
    )


def object_scoped(url: ConsoleUrl) -> bool:
    """URLs naming one of the owner's objects (everything beyond the region)."""
    return any(param != "region" for param in url.params) and url.name != "verification:confirm"


def url_for(url: ConsoleUrl, world: World) -> str:
    return reverse(url.name, kwargs=url_kwargs(url, world))


# Pages anyone may open without signing in.
PUBLIC_URLS = {"login", "verification:confirm", "favicon"}
# Operator-only pages outside /admin/: staff_member_required sends others to the admin login.
STAFF_URLS = {"identities:signing_zone_file"}


def allowed_methods(client: Client, path: str) -> set[str]:
    """The view's methods, from the Allow header of an OPTIONS request (every console view has
    a method decorator, so OPTIONS is answered before any permission check)."""
    response = client.options(path)
    allow = response.headers.get("Allow", "")
    assert allow, f"{path} answered OPTIONS with {response.status_code} and no Allow header."
    return {method.strip() for method in allow.split(",")}


# --- the SES API in-process ----------------------------------------------------------------
def api_request(
    client: Client,
    access_key_id: str,
    secret: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    query: str = "",
    region: str = REGION,
    sign: bool = True,
    extra_headers: dict[str, str] | None = None,
    sent_body: bytes | None = None,
) -> Any:
    """A SigV4-signed request through the Django test client. `path` is sent exactly as given
    (percent-encoded, as on the wire): REQUEST_URI carries it to api.auth.raw_path.
    `extra_headers` are signed with the rest; `sent_body` replaces the body after signing."""
    target = path + (f"?{query}" if query else "")
    headers = {"Content-Type": "application/json"} if body else {}
    headers.update(extra_headers or {})
    request = AWSRequest(
        method=method, url="http://testserver" + target, data=body, headers=headers
    )
    if sign:
        SigV4Auth(Credentials(access_key_id, secret), "ses", region).add_auth(request)
    prepared = dict(request.prepare().headers)
    content_type = prepared.pop("Content-Type", "")
    prepared.pop("Content-Length", None)
    return client.generic(
        method,
        target,
        data=body if sent_body is None else sent_body,
        content_type=content_type,
        headers={**prepared, "Host": "testserver"},
        REQUEST_URI=target,
    )


def encoded(segment: str) -> str:
    """A path parameter encoded the way botocore encodes it."""
    return quote(segment, safe="-_.~")


@pytest.fixture
def api() -> Callable[..., Any]:
    client = Client()

    def call(key: tuple[str, str], method: str, path: str, **kwargs: Any) -> Any:
        return api_request(client, key[0], key[1], method, path, **kwargs)

    return call
