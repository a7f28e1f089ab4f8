"""Verification tokens (unguessable, single-use, 24 hours, one address of one account, only a
hash at rest) and redirects (login's `next=`, the template's success/failure URLs)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey, Account, Region
from identities import operations, provisioning
from identities.models import Identity, IdentityType, VerificationStatus
from sending import inspect
from sending.models import SentMessage
from templates_app.models import CustomVerificationEmailTemplate
from tests.conftest import PASSWORD
from tests.security.conftest import World
from tests.verification.conftest import eager_celery  # noqa: F401  (mail tasks run inline)
from verification.models import VerificationLink, hash_token

TOKEN_IN_MAIL = re.compile(r"/verify/([^/\s\"'<>]+)/")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


_on_commit: Any = None


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks: Any) -> None:
    """Tests run in one transaction: the helpers run each request's after-commit hooks (the
    link, then the mail) as a commit would."""
    global _on_commit
    _on_commit = django_capture_on_commit_callbacks


def _post(client: Client, path: str, data: dict[str, str] | None = None) -> Any:
    with _on_commit(execute=True):
        return client.post(path, data or {})


def _create_email_identity(client: Client, address: str) -> Identity:
    path = reverse("identities:create", kwargs={"region": "us-east-1"})
    response = _post(client, path, {"identity_type": "EMAIL_ADDRESS", "email": address})
    assert response.status_code == 302, response.content
    return Identity.objects.get(name=address, account__memberships__user__username="owner")


def _token_from_mailbox(address: str) -> str:
    """The token of the newest mail to the address (kept as a sent message: no relay here)."""
    message = SentMessage.objects.filter(recipients=[address]).order_by("-accepted_at", "-id")[0]
    parts = inspect.parts(message)
    tokens = set(TOKEN_IN_MAIL.findall(parts.text + parts.html))
    assert len(tokens) == 1
    return tokens.pop()


def _click(token: str) -> Any:
    return Client().get(reverse("verification:confirm", kwargs={"token": token}))


# --- tokens ----------------------------------------------------------------------------------------
def test_tokens_have_at_least_128_bits_and_never_repeat(owner_client: Client) -> None:
    tokens = [
        _token_from_mailbox(_create_email_identity(owner_client, f"u{i}@example.com").name)
        for i in range(40)
    ]

    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        # URL-safe base64: 6 bits a character, from secrets.token_urlsafe (a CSPRNG).
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert len(token) * math.log2(64) >= 128
    # No shared prefix or suffix that would lower the entropy (e.g. a counter or a timestamp).
    assert len({token[:8] for token in tokens}) == len(tokens)
    assert len({token[-8:] for token in tokens}) == len(tokens)


def test_only_the_hash_is_stored_once_the_mail_is_sent(owner_client: Client) -> None:
    identity = _create_email_identity(owner_client, "hash@example.com")
    token = _token_from_mailbox(identity.name)

    link = VerificationLink.objects.get(identity=identity)
    stored = json.dumps(list(VerificationLink.objects.values()), default=str)

    assert link.token_hash == hash_token(token)
    assert link.token_encrypted == ""
    assert token not in stored


def test_before_sending_the_token_is_only_encrypted(world: World) -> None:
    stored = json.dumps(
        list(VerificationLink.objects.filter(pk=world.link.pk).values()), default=str
    )

    assert world.token not in stored
    assert world.link.token() == world.token  # the encrypted copy the mail task reads


def test_a_token_works_once(owner_client: Client) -> None:
    identity = _create_email_identity(owner_client, "once@example.com")
    token = _token_from_mailbox(identity.name)

    first = _click(token)
    second = _click(token)  # harmless: says verified, verifies nothing again
    identity.delete()  # nor may it verify a new identity of the same address
    again = _create_email_identity(owner_client, "once@example.com")
    third = _click(token)

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 404)
    assert VerificationLink.objects.filter(used_at__isnull=False).count() == 0  # went with it
    again.refresh_from_db()
    assert again.verification_status == VerificationStatus.PENDING


def test_a_used_token_is_consumed_once(owner_client: Client) -> None:
    identity = _create_email_identity(owner_client, "used@example.com")
    token = _token_from_mailbox(identity.name)

    _click(token)
    _click(token)

    link = VerificationLink.objects.get(identity=identity)
    assert link.used_at is not None
    assert identity.events.filter(kind="verified").count() == 1


def test_a_token_expires_after_24_hours(owner_client: Client) -> None:
    with time_machine.travel(T0, tick=False):
        identity = _create_email_identity(owner_client, "late@example.com")
        token = _token_from_mailbox(identity.name)
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        late = _click(token)

    assert late.status_code == 410
    assert "expired" in late.content.decode()
    identity.refresh_from_db()
    assert identity.verification_status == VerificationStatus.PENDING


def test_a_token_just_under_24_hours_still_works(owner_client: Client) -> None:
    with time_machine.travel(T0, tick=False):
        identity = _create_email_identity(owner_client, "intime@example.com")
        token = _token_from_mailbox(identity.name)
    with time_machine.travel(T0 + timedelta(hours=23, minutes=59), tick=False):
        assert _click(token).status_code == 200


def test_a_token_verifies_only_its_own_accounts_identity(
    owner_client: Client, other_account: Account, region: Region
) -> None:
    """The same address pending in two accounts: the owner's link verifies the owner's only."""
    outsiders = operations.create_identity(
        other_account,
        region,
        provisioning.NewIdentity(identity_type=IdentityType.EMAIL_ADDRESS, name="both@example.com"),
        actor="test",
    )
    owners = _create_email_identity(owner_client, "both@example.com")
    token = _token_from_mailbox("both@example.com")
    link = VerificationLink.objects.get(token_hash=hash_token(token))

    _click(token)

    owners.refresh_from_db()
    outsiders.refresh_from_db()
    assert link.identity_id == owners.pk
    assert owners.verification_status == VerificationStatus.SUCCESS
    assert outsiders.verification_status == VerificationStatus.PENDING


def test_a_newer_link_makes_the_older_one_useless(owner_client: Client, settings: Any) -> None:
    settings.VERIFICATION_RESEND_INTERVAL = 0
    identity = _create_email_identity(owner_client, "twice@example.com")
    old = _token_from_mailbox(identity.name)
    _post(
        owner_client,
        reverse("verification:resend", kwargs={"region": "us-east-1", "name": identity.name}),
    )

    response = _click(old)

    assert response.status_code == 410
    identity.refresh_from_db()
    assert identity.verification_status == VerificationStatus.PENDING


@pytest.mark.parametrize("token", ["", "a" * 101, "../../admin", "%00", "x" * 43])
def test_malformed_or_guessed_tokens_are_unknown(world: World, token: str) -> None:
    response = Client().get(f"/verify/{token}/")

    assert response.status_code == (400 if token == "%00" else 404)  # NUL: refused up front
    world.email.refresh_from_db()
    assert world.email.verification_status == VerificationStatus.PENDING


# --- login's next= ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        " https://evil.example/",
    ],
)
def test_login_next_never_leaves_the_site(owner: Any, target: str) -> None:
    client = Client()
    page = client.get(reverse("login"), {"next": target})
    response = client.post(
        reverse("login"), {"username": "owner", "password": PASSWORD, "next": target}
    )

    assert target not in page.content.decode()
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("home")


def test_login_next_on_site_is_followed(owner: Any) -> None:
    target = reverse("access_keys")
    response = Client().post(
        reverse("login"), {"username": "owner", "password": PASSWORD, "next": target}
    )

    assert response.headers["Location"] == target


# --- success / failure redirection URLs ----------------------------------------------------
BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/",
    "/relative/path",
    "ftp://evil.example/",
    "https://",
]


@pytest.fixture
def verified_sender(make_email: Callable[..., Identity]) -> Identity:
    identity = make_email("noreply@example.com")
    identity.mark_verified()
    return identity


def _template_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Welcome",
        "from_email_address": "noreply@example.com",
        "subject": "Confirm",
        "content": "<p>Hello</p>",
        "success_redirection_url": "https://example.com/ok",
        "failure_redirection_url": "https://example.com/no",
        **overrides,
    }


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("field", ["success_redirection_url", "failure_redirection_url"])
def test_console_refuses_non_http_redirection_urls(
    owner_client: Client, verified_sender: Identity, field: str, url: str
) -> None:
    path = reverse("templates_app:create", kwargs={"region": "us-east-1"})

    response = owner_client.post(path, _template_form(**{field: url}))

    assert response.status_code == 200
    assert "must be a full http:// or https:// address" in response.content.decode()
    assert not CustomVerificationEmailTemplate.objects.exists()


def test_api_refuses_a_javascript_redirection_url(
    account: Account, verified_sender: Identity, api: Callable[..., Any]
) -> None:
    key, secret = AccessKey.issue(account)
    body = {
        "TemplateName": "Welcome",
        "FromEmailAddress": "noreply@example.com",
        "TemplateSubject": "Confirm",
        "TemplateContent": "<p>Hello</p>",
        "SuccessRedirectionURL": "javascript:alert(1)",
        "FailureRedirectionURL": "https://example.com/no",
    }

    response = api(
        (key.access_key_id, secret),
        "POST",
        "/v2/email/custom-verification-email-templates",
        body=json.dumps(body).encode(),
    )

    assert response.status_code == 400
    assert not CustomVerificationEmailTemplate.objects.exists()


def test_confirm_redirects_only_to_the_url_stored_with_the_link(
    account: Account, region: Region, make_email: Callable[..., Identity]
) -> None:
    """The template's URL at the time of sending; later edits and query parameters are ignored."""
    template = CustomVerificationEmailTemplate.objects.create(
        account=account, region=region, name="Welcome", from_email_address="noreply@example.com",
        subject="s", content="<p>x</p>", success_redirection_url="https://example.com/ok",
        failure_redirection_url="https://example.com/no",
    )  # fmt: skip
    identity = make_email("click@example.com")
    link = VerificationLink.issue(
        account=account,
        region=region,
        email_address=identity.name,
        identity=identity,
        template=template,
    )
    token = link.token()
    CustomVerificationEmailTemplate.objects.filter(pk=template.pk).update(
        success_redirection_url="https://evil.example/"
    )

    response = Client().get(
        reverse("verification:confirm", kwargs={"token": token}),
        {"next": "https://evil.example/", "redirect": "https://evil.example/"},
    )
    again = Client().get(reverse("verification:confirm", kwargs={"token": "wrong" + token}))

    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/ok"
    assert again.status_code == 404  # an unknown token has no template: the built-in page
