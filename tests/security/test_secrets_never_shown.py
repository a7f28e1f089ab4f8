"""Private keys (BYODKIM, Easy DKIM), access-key secrets (after the one-time display), TSIG
secrets and the SMTP password never appear in console pages, admin pages, API responses,
downloads or logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey
from identities.models import DkimKey, DnsServer, Identity
from sesconsole.celery import app as celery_app
from tests.security.conftest import (
    REGION,
    SMTP_PASSWORD,
    TSIG_SECRET,
    World,
    allowed_methods,
    console_urls,
    encoded,
    url_for,
)
from tests.support import keys
from tests.verification.conftest import eager_celery  # noqa: F401  (mail tasks run inline)
from verification.models import VerificationLink


def _needles(world: World) -> dict[str, str]:
    """Each secret, and a slice from its middle (a key may be shown wrapped or in parts); the
    encrypted columns too, which are no business of any page either."""
    found = {}
    for label, secret in world.secrets().items():
        found[label] = secret
        if len(secret) > 80:
            found[f"{label} (middle)"] = secret[len(secret) // 2 : len(secret) // 2 + 40]
    for key in DkimKey.objects.filter(identity__account=world.account):
        found[f"encrypted DKIM key {key.selector}"] = key.private_key_encrypted[20:60]
    found["encrypted access key secret"] = world.access_key.secret_encrypted[20:60]
    found["encrypted TSIG secret"] = world.dns_server.key_secret_encrypted[20:60]
    return found


def _leaks(content: bytes | str, needles: dict[str, str]) -> list[str]:
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return [label for label, needle in needles.items() if needle in text]


def test_console_pages_and_downloads_never_show_a_secret(
    world: World, owner_client: Client
) -> None:
    needles = _needles(world)
    problems, seen = [], 0
    for url in console_urls():
        path = url_for(url, world)
        if "GET" not in allowed_methods(Client(), path) or url.name == "logout":
            continue
        for name in (world.domain.name, world.byodkim.name):
            # Every identity page for both DKIM kinds (the recipe uses the Easy DKIM domain).
            path_for = path.replace(world.domain.name, name)
            response = owner_client.get(path_for)
            seen += 1
            if leaked := _leaks(response.content, needles):
                problems.append((path_for, leaked))
    assert seen >= 40
    assert problems == []


def test_access_key_secret_is_shown_once(world: World, owner_client: Client) -> None:
    created = owner_client.post(reverse("access_key_create"), {"description": "once"})
    key = AccessKey.objects.get(description="once")
    secret = key.secret()

    later = owner_client.get(reverse("access_keys"))

    assert secret in created.content.decode()
    assert created.headers["Cache-Control"] == "no-store"
    assert secret not in later.content.decode()


def test_dns_server_form_never_renders_the_tsig_secret_back(
    world: World, owner_client: Client
) -> None:
    # An invalid submission (bad port) comes back with the other fields filled in.
    response = owner_client.post(
        reverse("identities:dns_server_create"),
        {"zone": "again.example", "server": "127.0.0.1", "port": "0", "key_name": "k",
         "key_algorithm": "hmac-sha256", "tsig_secret": TSIG_SECRET},
    )  # fmt: skip

    assert response.status_code == 200
    assert TSIG_SECRET not in response.content.decode()


def test_byodkim_form_never_renders_the_private_key_back(
    world: World, owner_client: Client
) -> None:
    private = keys.der_base64(keys.rsa_key(1024))
    response = owner_client.post(
        reverse("identities:create", kwargs={"region": REGION}),
        {
            "identity_type": "DOMAIN",
            "domain": "www.key.example",
            "dkim_type": "EXTERNAL",
            "selector": "s1",
            "private_key": private,
        },
    )  # fmt: skip  (www. needs confirming: the form comes back)

    assert response.status_code == 200
    html = response.content.decode()
    assert private[40:80] not in html
    assert "Paste the private key again" in html


def _admin_pages(world: World) -> list[str]:
    pages = [reverse("admin:index"), reverse("identities:signing_zone_file")]
    for model in admin.site._registry:
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        pages += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        for obj in model._default_manager.all()[:20]:
            pages += [
                reverse(f"{prefix}_change", args=[obj.pk]),
                reverse(f"{prefix}_delete", args=[obj.pk]),
                reverse(f"{prefix}_history", args=[obj.pk]),
            ]
    return pages


def test_admin_pages_never_show_a_secret(world: World, operator_client: Client) -> None:
    needles = _needles(world)
    problems = []
    pages = _admin_pages(world)
    for path in pages:
        response = operator_client.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        if leaked := _leaks(response.content, needles):
            problems.append((path, leaked))
    assert len(pages) >= 60
    assert problems == []


def test_api_responses_never_show_a_secret(world: World, api: Callable[..., Any]) -> None:
    key = (world.access_key.access_key_id, world.access_key_secret)
    needles = _needles(world)
    needles.pop("access key secret")  # the caller signs with it; responses still must not echo
    calls = [
        ("GET", f"/v2/email/identities/{encoded(world.domain.name)}", b""),
        ("GET", f"/v2/email/identities/{encoded(world.byodkim.name)}", b""),
        ("GET", f"/v2/email/identities/{encoded(world.email.name)}", b""),
        ("POST", "/v2/email/list-identities", b"{}"),
        ("GET", "/v2/email/identities", b""),
        ("GET", f"/v2/email/identities/{encoded(world.domain.name)}/policies", b""),
        ("GET", "/v2/email/account", b""),
        ("GET", f"/v2/email/custom-verification-email-templates/{world.template.name}", b""),
        ("GET", "/v2/email/custom-verification-email-templates", b""),
        ("GET", f"/v2/email/configuration-sets/{world.config_set.name}", b""),
    ]
    for method, path, body in calls:
        response = api(key, method, path, body=body)
        assert response.status_code == 200, (path, response.content)
        assert _leaks(response.content, needles) == [], path
        assert world.access_key_secret not in response.content.decode()


@pytest.fixture
def smtp_refused(settings: Any) -> None:
    """SMTP with credentials, pointed at a port nothing listens on: sending fails."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # discard: nothing listens on loopback
    settings.EMAIL_HOST_USER = "relay-user"
    settings.EMAIL_HOST_PASSWORD = SMTP_PASSWORD
    settings.EMAIL_TIMEOUT = 2


def test_logs_never_show_a_secret(
    world: World,
    owner_client: Client,
    api: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    smtp_refused: None,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    """Create, verify, publish, send and fail, with every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    # The operator lets accounts publish to loopback port 1 (nothing listens: a failure).
    settings.DNS_PUBLISH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.DNS_PUBLISH_ALLOWED_PORTS = [1]
    # The refused SMTP connection makes the mail task retry; in eager mode that would raise.
    celery_app.conf.task_eager_propagates = False
    private = keys.der_base64(keys.rsa_key(1024))
    tsig = "bG9nLXRlc3QtdHNpZy1zZWNyZXQtdmFsdWUtMTIzNDU2Nzg="
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("identities:create", kwargs={"region": REGION}),
            {"identity_type": "DOMAIN", "domain": "logs.example", "dkim_type": "EXTERNAL",
             "selector": "s1", "private_key": private, "key_length": "RSA_1024_BIT"},
        )  # fmt: skip
        owner_client.post(
            reverse("identities:create", kwargs={"region": REGION}),
            {"identity_type": "DOMAIN", "domain": "easy.example", "key_length": "RSA_1024_BIT"},
        )
        owner_client.post(
            reverse("identities:create", kwargs={"region": REGION}),
            {"identity_type": "EMAIL_ADDRESS", "email": "logs@example.com"},
        )
        owner_client.post(
            reverse("identities:dns_server_create"),
            {"zone": "logs.example", "server": "127.0.0.1", "port": "1", "key_name": "k",
             "key_algorithm": "hmac-sha256", "tsig_secret": tsig},
        )  # fmt: skip
        owner_client.post(
            reverse("identities:publish_records", kwargs={"region": REGION, "name": "logs.example"})
        )
        created = owner_client.post(reverse("access_key_create"), {"description": "logs"})
        api(
            (world.access_key.access_key_id, world.access_key_secret),
            "POST",
            "/v2/email/identities",
            body=b'{"EmailIdentity": "api-logs.example", "DkimSigningAttributes": '
            b'{"DomainSigningSelector": "s2", "DomainSigningPrivateKey": "'
            + private.encode()
            + b'"}}',
        )
        api(("AKIAUNKNOWNUNKNOWN22", "x"), "GET", "/v2/email/account")
        api((world.access_key.access_key_id, "wrong"), "GET", "/v2/email/account")
    secret = AccessKey.objects.get(description="logs").secret()
    assert secret in created.content.decode()  # the flows did run
    assert Identity.objects.filter(name="api-logs.example").exists()
    failed = VerificationLink.objects.get(email_address="logs@example.com")
    needles = {
        **_needles(world),
        "BYODKIM key (console and API)": private[40:80],
        "TSIG secret (form)": tsig,
        "new access key secret": secret,
    }
    for key in DkimKey.objects.filter(identity__name="easy.example"):
        needles[f"Easy DKIM key {key.selector}"] = key.private_key_base64()[40:80]
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    )
    assert len(caplog.records) >= 5
    assert _leaks(logged, needles) == []
    assert SMTP_PASSWORD not in failed.mail_error + failed.status_line
    assert DnsServer.objects.filter(zone="logs.example").exists()
