"""Console pages for custom verification templates: the access matrix of each view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from identities.models import Identity
from templates_app.models import CustomVerificationEmailTemplate
from verification.models import VerificationLink

HTMX = {"HTTP_HX_REQUEST": "true"}
FORM = {
    "name": "Welcome",
    "from_email_address": "noreply@example.com",
    "subject": "Please confirm",
    "content": "<p>Hello</p>",
    "success_redirection_url": "https://www.example.com/ok",
    "failure_redirection_url": "https://www.example.com/ko",
}


@pytest.fixture
def verified_domain(make_domain: Callable[..., Identity]) -> Identity:
    identity = make_domain("example.com")
    identity.mark_verified()
    return identity


@pytest.fixture
def template(
    verified_domain: Identity, make_template: Callable[..., CustomVerificationEmailTemplate]
) -> CustomVerificationEmailTemplate:
    return make_template(content='<p style="color:red">Hello</p><form><input></form>')


def url(view: str, **kwargs: Any) -> str:
    return reverse(f"templates_app:{view}", kwargs={"region": "us-east-1", **kwargs})


def test_list_owner_and_query_count(
    owner_client: Client, template: CustomVerificationEmailTemplate, make_template: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    response = owner_client.get(url("list"))
    assert response.status_code == 200
    assert b"Welcome" in response.content
    assert b"(1/50)" in response.content
    assert b"Your account is in the sandbox" in response.content
    make_template("Second")
    make_template("Third")
    with django_assert_max_num_queries(10):
        owner_client.get(url("list"))


def test_list_matrix(
    client: Client, outsider_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    assert client.get(url("list"))["Location"].startswith("/login/")
    assert b"Welcome" not in outsider_client.get(url("list")).content
    assert outsider_client.post(url("list")).status_code == 405


def test_create(owner_client: Client, verified_domain: Identity) -> None:
    assert owner_client.get(url("create")).status_code == 200
    response = owner_client.post(url("create"), FORM)
    assert response.status_code == 302
    assert response["Location"] == url("detail", name="Welcome")
    assert CustomVerificationEmailTemplate.objects.get().content == "<p>Hello</p>"


def test_create_shows_precise_errors(
    teammate_client: Client, make_domain: Callable[..., Identity]
) -> None:
    bad = {**FORM, "content": "<p>Hi</p>\n<script>x</script>"}
    # The cheap fields first: with an unverified From the content is not read at all.
    html = teammate_client.post(url("create"), bad).content.decode()
    assert "noreply@example.com is not verified in us-east-1." in html
    assert "tag is not allowed" not in html
    make_domain("example.com").mark_verified()
    response = teammate_client.post(url("create"), bad)
    assert response.status_code == 200
    assert (
        "Line 2, column 1: The &lt;script&gt; tag is not allowed in custom verification email templates."
        in response.content.decode()
    )
    assert not CustomVerificationEmailTemplate.objects.exists()


def test_detail_preview_is_sandboxed(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    html = owner_client.get(url("detail", name="Welcome")).content.decode()
    preview_url = url("preview", name="Welcome")
    assert (
        f'<iframe class="mail-preview" title="Preview of Welcome" sandbox src="{preview_url}">'
        in html
    )
    assert "If you did not request to verify this email address" in html


def test_preview_is_a_sandboxed_document_with_a_strict_policy(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    # Its own document, not a srcdoc: the console's policy forbids the inline styles email
    # HTML is made of, and this one forbids everything else (no script, no form, sandbox).
    response = owner_client.get(url("preview", name="Welcome"))
    assert response.status_code == 200
    assert response.content.decode() == (
        '<!doctype html><meta charset="utf-8"><p style="color:red">Hello</p><form><input></form>'
    )
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_preview_matrix(
    teammate_client: Client,
    outsider_client: Client,
    client: Client,
    template: CustomVerificationEmailTemplate,
) -> None:
    assert teammate_client.get(url("preview", name="Welcome")).status_code == 200
    assert outsider_client.get(url("preview", name="Welcome")).status_code == 404
    assert client.get(url("preview", name="Welcome")).status_code == 302
    assert teammate_client.post(url("preview", name="Welcome")).status_code == 405


def test_detail_matrix(
    teammate_client: Client,
    outsider_client: Client,
    client: Client,
    template: CustomVerificationEmailTemplate,
) -> None:
    assert teammate_client.get(url("detail", name="Welcome")).status_code == 200
    assert outsider_client.get(url("detail", name="Welcome")).status_code == 404
    assert client.get(url("detail", name="Welcome")).status_code == 302
    assert teammate_client.post(url("detail", name="Welcome")).status_code == 405


def test_edit(
    owner_client: Client, outsider_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    page = owner_client.get(url("edit", name="Welcome"))
    assert page.status_code == 200
    assert b"Please confirm your email address" in page.content
    response = owner_client.post(url("edit", name="Welcome"), {**FORM, "subject": "Changed"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "Changed"
    assert outsider_client.post(url("edit", name="Welcome"), FORM).status_code == 404
    assert owner_client.delete(url("edit", name="Welcome")).status_code == 405


def test_delete(
    owner_client: Client,
    outsider_client: Client,
    client: Client,
    template: CustomVerificationEmailTemplate,
) -> None:
    confirmed = {"confirm": "Welcome"}
    assert outsider_client.post(url("delete", name="Welcome"), confirmed).status_code == 404
    assert client.post(url("delete", name="Welcome"), confirmed).status_code == 302
    assert owner_client.get(url("delete", name="Welcome")).status_code == 200
    refused = owner_client.post(url("delete", name="Welcome"), {"confirm": "welcome"})
    assert refused.context["form"].errors["confirm"] == [
        "The name you entered doesn't match. Enter Welcome exactly as shown to delete it."
    ]
    dialog = owner_client.get(url("delete", name="Welcome"), HTTP_HX_REQUEST="true")
    assert dialog.content.decode().lstrip().startswith("<form")
    assert CustomVerificationEmailTemplate.objects.exists()
    assert owner_client.post(url("delete", name="Welcome"), confirmed)["Location"] == url("list")
    assert not CustomVerificationEmailTemplate.objects.exists()


def test_send_test_in_sandbox_shows_production_access_error(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    response = owner_client.post(
        url("send_test", name="Welcome"), {"email_address": "me@example.org"}
    )
    assert response.status_code == 400
    assert (
        "Production access not granted. Custom verification emails can only be sent"
        in response.content.decode()
    )
    assert not VerificationLink.objects.exists()


def test_send_test_with_production_access(
    owner_client: Client, template: CustomVerificationEmailTemplate, production: None
) -> None:
    response = owner_client.post(
        url("send_test", name="Welcome"), {"email_address": "me@example.org"}
    )
    assert response.status_code == 302
    link = VerificationLink.objects.get()
    assert (link.email_address, link.template_name, link.identity) == (
        "me@example.org",
        "Welcome",
        None,
    )


def test_send_test_htmx(
    owner_client: Client, template: CustomVerificationEmailTemplate, production: None
) -> None:
    response = owner_client.post(
        url("send_test", name="Welcome"), {"email_address": "me@example.org"}, **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="container" id="send-test">')
    assert "The verification email is on its way to me@example.org (message ID" in html


def test_send_test_matrix(
    outsider_client: Client,
    client: Client,
    owner_client: Client,
    template: CustomVerificationEmailTemplate,
) -> None:
    assert (
        outsider_client.post(
            url("send_test", name="Welcome"), {"email_address": "a@b.example"}
        ).status_code
        == 404
    )
    assert client.post(url("send_test", name="Welcome"))["Location"].startswith("/login/")
    assert owner_client.get(url("send_test", name="Welcome")).status_code == 405


def test_list_filter_and_page_size_are_kept_in_the_url(
    owner_client: Client, account: Any, region: Any
) -> None:
    for i in range(11):
        CustomVerificationEmailTemplate.objects.create(
            account=account,
            region=region,
            name=f"T{i:02}",
            from_email_address="sender@example.com",
            subject="s",
            content="<p>x</p>",
            success_redirection_url="https://example.com/ok",
            failure_redirection_url="https://example.com/no",
        )

    first = owner_client.get(url("list"), {"q": "t", "size": "10"})
    second = owner_client.get(url("list"), {"q": "t", "page": "2"}, HTTP_HX_REQUEST="true")
    none = owner_client.get(url("list"), {"q": "zzz"}).content.decode()

    assert [t.name for t in first.context["rows"]] == [f"T{i:02}" for i in range(10)]
    assert '<span class="counter">(11/' in first.content.decode()
    assert "?q=t&amp;size=10&amp;page=2" in first.content.decode()
    assert [t.name for t in second.context["rows"]] == ["T10"]
    assert "<html" not in second.content.decode()
    assert "No template matches the filter." in none
