"""Security headers on every response, and templates the Content-Security-Policy can live with."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from identities.models import Identity
from sesconsole.middleware import CONTENT_SECURITY_POLICY, security_headers_middleware

BASE_DIR = Path(__file__).resolve().parent.parent


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_policy_allows_no_inline_script_or_style() -> None:
    """Scripts, styles and everything else load only from the console's own origin: no inline
    code, no eval, no CDN. Nobody may frame the console, post its forms elsewhere, move its
    base URL or embed plugins."""
    policy = directives(CONTENT_SECURITY_POLICY)
    assert {*policy["default-src"], *policy["script-src"], *policy["style-src"]} == {"'self'"}
    assert [policy[name] for name in ("frame-ancestors", "base-uri", "object-src")] == [
        ["'none'"]
    ] * 3
    assert policy["form-action"] == ["'self'"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/us-east-1/verified-identities/",
        "/us-east-1/verified-identities/create/",
        "/us-east-1/verified-identities/example.com/",
        "/us-east-1/custom-verification-templates/",
        "/us-east-1/account/",
        "/us-east-1/sent-messages/",
        "/mailbox/",  # redirects to Sent messages
        "/access-keys/",
        "/dns-servers/",
    ],
)
def test_console_pages_carry_the_security_headers(
    owner_client: Client, make_domain: Callable[..., Identity], path: str
) -> None:
    make_domain("example.com")
    response = owner_client.get(path, follow=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert re.fullmatch(r"[0-9a-f-]{36}", response["X-Request-Id"])


def test_login_page_carries_the_policy(client: Client, db: None) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_htmx_partials_carry_the_policy(
    owner_client: Client, make_domain: Callable[..., Identity]
) -> None:
    make_domain("example.com")
    response = owner_client.get("/us-east-1/verified-identities/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_api_answers_json_without_a_policy_and_with_one_request_id(
    client: Client, db: None
) -> None:
    response = client.get("/v2/email/identities")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "Content-Security-Policy" not in response
    assert response["x-amzn-RequestId"] == response["X-Request-Id"]


def test_api_post_without_credentials_is_a_client_error(client: Client, db: None) -> None:
    response = client.post(
        "/v2/email/identities", data='{"EmailIdentity": "x.com"}', content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["message"]


def test_middleware_keeps_a_policy_the_view_set() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("<p>preview</p>")
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    response = security_headers_middleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_middleware_leaves_non_html_alone() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("a,b\n", content_type="text/csv")

    response = security_headers_middleware(view)(RequestFactory().get("/"))
    assert "Content-Security-Policy" not in response


def test_session_and_csrf_cookies_are_lax() -> None:
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_health_check_answers_any_host_over_plain_http(client: Client, db: None) -> None:
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.content == b"ok\n"


# --- templates the policy can live with ---------------------------------------------------------
def test_base_template_turns_off_htmx_inline_styles_and_eval(client: Client, db: None) -> None:
    html = client.get("/login/").content.decode()
    assert (
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false,'
        '"allowEval":false,"allowScriptTags":false}\'>'
    ) in html


FORBIDDEN = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an on…= event handler"),
    (re.compile(r"\bhx-on\b", re.IGNORECASE), "hx-on (evaluated JavaScript)"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
    (re.compile(r"""\bhx-(?:vals|vars)\s*=\s*['"]\s*js:""", re.IGNORECASE), "hx-vals js:"),
]


def template_files() -> list[Path]:
    """Every template the console serves. Mail bodies (`mail/` folders) go to mail clients,
    where inline style is the norm and the console's policy doesn't apply."""
    roots = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return sorted(
        path for root in roots for path in root.rglob("*.html") if "mail" not in path.parent.parts
    )


def test_there_are_templates_to_scan() -> None:
    names = {path.relative_to(BASE_DIR).as_posix() for path in template_files()}
    assert "templates/base.html" in names
    assert "identities/templates/identities/detail.html" in names
    assert "verification/templates/verification/mail/default.html" not in names


def test_no_template_has_inline_script_style_or_handlers() -> None:
    found = []
    for path in template_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for pattern, what in FORBIDDEN:
                if pattern.search(line):
                    found.append(f"{path.relative_to(BASE_DIR)}:{number}: {what}")
    assert found == []


def test_scanner_catches_what_it_looks_for() -> None:
    lines = [
        "<script>alert(1)</script>",
        '<div style="color: red">',
        '<button onclick="go()">',
        "<style>p{}</style>",
        '<button hx-on:click="go()">',
    ]
    assert [any(p.search(line) for p, _ in FORBIDDEN) for line in lines] == [True] * 5
    assert not any(p.search('<script src="/static/x.js" defer></script>') for p, _ in FORBIDDEN)


def test_sandboxed_previews_get_their_own_stricter_policy(
    owner_client: Client, mails_fixture: Any
) -> None:
    response = owner_client.get(f"/us-east-1/sent-messages/{mails_fixture.message_id}/html/")
    assert response["Content-Security-Policy"].startswith("default-src 'none';")
    assert "script-src" not in response["Content-Security-Policy"]


@pytest.fixture
def mails_fixture(account: Any, region: Any) -> Any:
    from sending.models import SentMessage

    return SentMessage.objects.create(
        account=account,
        region=region,
        message_id="preview",
        operation="VerificationEmail",
        from_address="no-reply@x",
        envelope_from="no-reply@x",
        recipients=["a@example.com"],
        subject="Hi",
        mime=b"Content-Type: text/html\r\n\r\n<p>x</p>",
    )
