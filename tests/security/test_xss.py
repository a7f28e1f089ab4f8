"""XSS: payloads in every user-controlled string are escaped on every page, whether the input
was stored (access key descriptions, DNS servers, template subjects, addresses) or rejected
with a message that echoes it; template previews and sent messages can't run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from identities.models import DnsServer, Identity, VerificationStatus
from sending.models import SentMessage
from templates_app.models import CustomVerificationEmailTemplate
from tests.security.conftest import TSIG_SECRET, World, allowed_methods, console_urls, url_for
from tests.verification.conftest import eager_celery  # noqa: F401  (mail tasks run inline)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
TEMPLATE = "{{7*7}}"
PAYLOADS = [SCRIPT, IMG, JS_URL, TEMPLATE]
# Payloads an email address may legally hold (atext: ' ` = { } * are all allowed).
ADDRESSES = ["{{7*7}}@example.com", "x'onfocus='alert`1`'@example.com"]
JS_IN_ATTRIBUTE = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)
REGION = "us-east-1"


class _LiveMarkup(HTMLParser):
    """Collects what a browser would run: inline scripts, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or any(char in name for char in "\"'`<"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert" in data:
            self.found.append(f"<script>{data}</script>")


def assert_no_live_markup(html: str, where: str) -> None:
    parser = _LiveMarkup()
    parser.feed(html)
    assert parser.found == [], f"live markup in {where}: {parser.found}"


def assert_escaped(html: str, payload: str, where: str) -> None:
    if any(char in payload for char in "<>\"'"):
        assert payload not in html, f"{payload!r} unescaped in {where}"
    assert_no_live_markup(html, where)


# --- stored payloads, shown on every page ----------------------------------------------------
def _legacy_dns_server(world: World, *, zone: str, key_name: str) -> None:
    """A DNS server row as the form stored it before zone and key names had to be DNS names."""
    row = DnsServer(
        account=world.account, zone=zone, server="127.0.0.1", port=53, key_name=key_name
    )
    row.set_secret(TSIG_SECRET)
    row.save()


def _store_payloads(world: World, client: Client) -> list[str]:
    """Put every payload into every field that accepts it; return the paths showing them."""
    Identity.objects.filter(pk=world.domain.pk).update(
        verification_status=VerificationStatus.SUCCESS
    )
    paths = []
    for i, payload in enumerate(PAYLOADS):
        response = client.post(reverse("access_key_create"), {"description": payload})
        assert response.status_code == 200
        # The form refuses such key names now (test_dns_destinations); rows saved before it
        # did are still shown, escaped.
        _legacy_dns_server(world, zone=f"xss{i}.example", key_name=payload)
        response = client.post(
            reverse("templates_app:create", kwargs={"region": REGION}),
            {"name": f"Xss{i}", "from_email_address": f"x@{world.domain.name}",
             "subject": payload, "content": f"<p>{escape(payload)}</p>",
             "success_redirection_url": "https://example.com/ok",
             "failure_redirection_url": "https://example.com/no"},
        )  # fmt: skip
        assert response.status_code == 302, response.content
        paths.append(reverse("templates_app:detail", kwargs={"region": REGION, "name": f"Xss{i}"}))
        paths.append(reverse("templates_app:edit", kwargs={"region": REGION, "name": f"Xss{i}"}))
        paths.append(reverse("templates_app:preview", kwargs={"region": REGION, "name": f"Xss{i}"}))
        message = SentMessage.objects.create(
            account=world.account, region=world.region, message_id=f"xss-{i}", actor=payload,
            operation="SendEmail", from_header=payload, from_address=payload, subject=payload,
            envelope_from=payload, recipients=[payload], recipients_text=payload,
            mime=f"Subject: x\r\n\r\n{payload}".encode(),
        )  # fmt: skip
        paths.append(message_path(message))
    _legacy_dns_server(world, zone=SCRIPT, key_name="k")
    for address in ADDRESSES:
        response = client.post(
            reverse("identities:create", kwargs={"region": REGION}),
            {"identity_type": "EMAIL_ADDRESS", "email": address},
        )
        assert response.status_code == 302, response.content
        for view in ("identities:detail", "identities:tab_tags", "identities:delete"):
            paths.append(reverse(view, kwargs={"region": REGION, "name": address}))
    client.post(
        reverse("account_dashboard", kwargs={"region": REGION}),
        {"mail_type": "TRANSACTIONAL", "website_url": "https://example.com/",
         "use_case_description": " ".join(PAYLOADS), "contact_language": "EN"},
    )  # fmt: skip
    return paths


def test_stored_payloads_are_escaped_on_every_page(world: World, owner_client: Client) -> None:
    extra = _store_payloads(world, owner_client)
    pages = [
        url_for(url, world)
        for url in console_urls()
        if "GET" in allowed_methods(Client(), url_for(url, world))
    ] + extra
    shown = 0
    for path in pages:
        response = owner_client.get(path)
        html = response.content.decode("utf-8", "replace")
        for payload in PAYLOADS + ADDRESSES:
            assert_escaped(html, payload, path)
        shown += escape(SCRIPT) in html
    # The payloads did reach the pages (escaped): the access keys, DNS servers, templates and
    # Sent messages lists, each template's page and form, each message, the dashboard.
    assert shown >= 8
    addresses = owner_client.get(reverse("identities:list", kwargs={"region": REGION}))
    assert escape(ADDRESSES[0]) in addresses.content.decode()  # shown as typed, not "49"


# --- rejected payloads: the messages that echo them ---------------------------------------------
def _rejections(world: World, payload: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, data) for every field that refuses the payload."""
    create = reverse("identities:create", kwargs={"region": REGION})
    name = {"region": REGION, "name": world.domain.name}
    template = {"region": REGION, "name": world.template.name}
    domain_form = {"identity_type": "DOMAIN", "domain": "xss.example"}
    template_form = {
        "name": "Ok", "from_email_address": world.email.name, "subject": "s",
        "content": "<p>x</p>", "success_redirection_url": "https://example.com/",
        "failure_redirection_url": "https://example.com/",
    }  # fmt: skip
    return [
        ("post", create, {"identity_type": "DOMAIN", "domain": payload}),
        ("post", create, {"identity_type": "DOMAIN", "domain": f"{payload}.example.com"}),
        ("post", create, {"identity_type": "EMAIL_ADDRESS", "email": f"{payload}@example.com"}),
        ("post", create, {"identity_type": "EMAIL_ADDRESS", "email": f'"{payload}"@example.com'}),
        ("post", create, {**domain_form, "dkim_type": "EXTERNAL", "selector": payload,
                          "private_key": payload}),
        ("post", create, {**domain_form, "use_mail_from": "on", "mail_from_domain": payload}),
        ("post", create, {**domain_form, "tag_key": payload, "tag_value": "v"}),
        ("post", create, {**domain_form, "tag_key": "k", "tag_value": payload}),
        ("post", create, {**domain_form, "assign_configuration_set": "on",
                          "configuration_set": payload}),
        ("post", create, {"identity_type": payload}),
        ("post", create, {**domain_form, "key_length": payload, "mail_from_behavior": payload}),
        ("post", reverse("identities:configuration_set_create", kwargs={"region": REGION}),
         {"name": payload}),
        ("post", reverse("identities:edit_tags", kwargs=name), {"tag_key": payload}),
        ("post", reverse("identities:edit_tags", kwargs=name), {"tag_key": "k", "tag_value": payload}),
        ("post", reverse("identities:edit_mail_from", kwargs=name),
         {"use_mail_from": "on", "mail_from_domain": payload}),
        ("post", reverse("identities:edit_dkim", kwargs=name),
         {"dkim_type": "EXTERNAL", "selector": payload, "private_key": payload}),
        ("post", reverse("identities:edit_configuration_set", kwargs=name),
         {"configuration_set": payload}),
        ("post", reverse("identities:delete", kwargs=name), {"confirm": payload}),
        ("post", reverse("templates_app:create", kwargs={"region": REGION}),
         {**template_form, "name": payload}),
        ("post", reverse("templates_app:create", kwargs={"region": REGION}),
         {**template_form, "from_email_address": payload}),
        ("post", reverse("templates_app:create", kwargs={"region": REGION}),
         {**template_form, "content": payload}),
        ("post", reverse("templates_app:create", kwargs={"region": REGION}),
         {**template_form, "content": f"<p onclick='{payload}'>x</p><a href=\"{payload}\">y</a>"}),
        ("post", reverse("templates_app:create", kwargs={"region": REGION}),
         {**template_form, "success_redirection_url": payload}),
        ("post", reverse("templates_app:edit", kwargs=template), {**template_form, "name": payload}),
        ("post", reverse("templates_app:send_test", kwargs=template), {"email_address": payload}),
        ("post", reverse("identities:dns_server_create"),
         {"zone": payload, "server": payload, "port": payload, "key_name": "k",
          "key_algorithm": payload, "tsig_secret": payload}),
        ("post", reverse("account_dashboard", kwargs={"region": REGION}),
         {"mail_type": payload, "website_url": payload, "contact_language": payload}),
        ("post", reverse("identities:bulk_delete", kwargs={"region": REGION}),
         {"identity": [payload, world.domain.name]}),
        ("get", reverse("identities:list", kwargs={"region": REGION}),
         {"q": payload, "type": payload, "status": payload, "sort": payload, "page": payload}),
        ("get", reverse("verification:which_identity", kwargs={"region": REGION}),
         {"address": payload}),
        ("get", reverse("switch_region"), {"region": payload}),
        ("get", reverse("identities:signing_zone_file"), {"zone": payload}),
    ]  # fmt: skip


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rejected_payloads_are_escaped_in_the_messages(
    world: World, owner_client: Client, payload: str
) -> None:
    echoed = 0
    for method, path, data in _rejections(world, payload):
        response = getattr(owner_client, method)(path, data)
        assert response.status_code < 500, (path, data)
        html = response.content.decode("utf-8", "replace")
        assert_escaped(html, payload, f"{method.upper()} {path} {data}")
        echoed += escape(payload) in html
    assert echoed >= 5  # messages and form values do echo the input, escaped


def test_search_box_echoes_the_query_escaped(world: World, owner_client: Client) -> None:
    response = owner_client.get(reverse("identities:list", kwargs={"region": REGION}), {"q": IMG})

    assert f'value="{escape(IMG)}"' in response.content.decode()


def test_domain_error_echoes_the_raw_input_escaped(owner_client: Client, region: Any) -> None:
    raw = "<b>x</b>..example.com"
    response = owner_client.post(
        reverse("identities:create", kwargs={"region": REGION}),
        {"identity_type": "DOMAIN", "domain": raw},
    )

    html = response.content.decode()
    assert raw not in html
    assert escape(raw) in html


# --- previews -------------------------------------------------------------------------------------
def _sandbox_flags(html: str) -> list[str]:
    return re.findall(r"<iframe[^>]*\bsandbox(?:=\"([^\"]*)\")?", html)


def _assert_sandboxed_document(response: Any) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert "sandbox" in policy
    assert "allow-scripts" not in policy
    assert "allow-same-origin" not in policy
    assert "<script" not in response.content.decode().lower()


@pytest.mark.parametrize(
    "content",
    [
        "<p>Hello</p>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        '<img src="javascript:alert(1)"><img src="x" alt="y">',
        '<table><tr><td onclick="alert(1)">x</td></tr></table>',
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    ],
)
def test_template_preview_cannot_run_script(
    world: World, owner_client: Client, content: str
) -> None:
    # Stored directly: even content the form would refuse must be harmless in the preview.
    CustomVerificationEmailTemplate.objects.filter(pk=world.template.pk).update(content=content)
    kwargs = {"region": REGION, "name": world.template.name}

    page = owner_client.get(reverse("templates_app:detail", kwargs=kwargs)).content.decode()
    preview = owner_client.get(reverse("templates_app:preview", kwargs=kwargs))

    assert all("allow-scripts" not in flags for flags in _sandbox_flags(page))
    assert len(_sandbox_flags(page)) == 1
    _assert_sandboxed_document(preview)
    body = preview.content.decode().lower()
    assert "onclick" not in body
    # (A javascript: URL inside CSS is inert in browsers, and the document allows no script.)
    assert not JS_IN_ATTRIBUTE.search(body)


def test_template_preview_of_stored_script_is_cleaned(world: World, owner_client: Client) -> None:
    CustomVerificationEmailTemplate.objects.filter(pk=world.template.pk).update(
        content=f"<p>x</p>{SCRIPT}{IMG}"
    )
    kwargs = {"region": REGION, "name": world.template.name}

    preview = owner_client.get(reverse("templates_app:preview", kwargs=kwargs))

    _assert_sandboxed_document(preview)
    assert "onerror" not in preview.content.decode()


def message_path(message: SentMessage, view: str = "message") -> str:
    kwargs = {"region": message.region_id, "message_id": message.message_id}
    return reverse(f"sending:{view}", kwargs=kwargs)


def test_verification_mail_html_view_cannot_run_script(
    world: World, owner_client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A real verification mail from a template, kept as a sent message, shown sandboxed."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # the embedded mode
    world.account.region_settings(world.region).grant_production_access()
    Identity.objects.filter(pk=world.domain.pk).update(
        verification_status=VerificationStatus.SUCCESS
    )
    CustomVerificationEmailTemplate.objects.filter(pk=world.template.pk).update(
        from_email_address=f"x@{world.domain.name}",
        # The mailer validates the template again before sending (an onclick fails the mail),
        # so the worst that reaches a mail is allowed markup around escaped script.
        content='<p style="color:red" title="&quot;&gt;&lt;script&gt;">Hi &lt;script&gt;</p>',
    )
    kwargs = {"region": REGION, "name": world.template.name}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("templates_app:send_test", kwargs=kwargs), {"email_address": "a@example.com"}
        )
    assert response.status_code == 302, response.content.decode()
    message = SentMessage.objects.get(recipients=["a@example.com"])
    page = owner_client.get(message_path(message))
    document = owner_client.get(message_path(message, "message_html"))

    assert len(_sandbox_flags(page.content.decode())) == 1
    assert all("allow-scripts" not in flags for flags in _sandbox_flags(page.content.decode()))
    _assert_sandboxed_document(document)
    assert_no_live_markup(document.content.decode(), "the sent message HTML view")


def test_message_html_view_keeps_even_a_hostile_message_sandboxed(
    world: World, owner_client: Client
) -> None:
    message = SentMessage.objects.create(
        account=world.account, region=world.region, message_id="hostile", actor="a",
        operation="SendEmail", from_address="a@example.com", envelope_from="a@example.com",
        recipients=["b@example.com"], mime=f"Content-Type: text/html\r\n\r\n<p>x</p>{SCRIPT}".encode(),
    )  # fmt: skip

    document = owner_client.get(message_path(message, "message_html"))

    policy = document.headers["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "allow-scripts" not in policy
    assert "script-src" not in policy or "'none'" in policy  # default-src 'none' covers it
