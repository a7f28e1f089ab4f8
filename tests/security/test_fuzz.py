"""Hypothesis drives thousands of generated console form posts, GET parameters and signed API
requests through the Django test client in-process; no answer may be a 5xx.

Every response's status is counted in `STATUSES`; `test_fuzz_totals` (last in the file) checks
that at least 5,000 requests were made and prints the histogram (`pytest -s` shows it). A view
that raises makes the test fail with the example and the traceback (the client re-raises).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identities.models import Identity, VerificationStatus
from tests.security.conftest import World, api_request
from tests.security.test_access_matrix import api_routes

STATUSES: Counter[int] = Counter()
GROUPS: Counter[str] = Counter()
REGION = "us-east-1"

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

# --- values --------------------------------------------------------------------------------
nasty = st.sampled_from(
    [
        "", " ", "\x00", "a\x00b", "\r\n", "\t", "²", "٣", "-1", "0", "999999999999999999999",
        "1e309", "NaN", "../../etc/passwd", "%00", "%2F", "<script>alert(1)</script>",
        "javascript:alert(1)", "{{7*7}}", "' OR 1=1 --", "example.com", "www.example.com",
        "owner-only.example", "user@example.com", "a" * 70, "a" * 400, "a" * 5000,
        "xn--", "xn--80ak6aa92e.com", "пример.рф", "例え.テスト", "a..b", ".", "@", "a@b@c",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "MIIBVQIBADANBgkqhkiG9w0BAQ",
        "aws:x", "sel-1", "RSA_1024_BIT", "EXTERNAL", "AWS_SES", "DOMAIN", "EMAIL_ADDRESS",
        "on", "yes", "true", "owner-set", "OwnerTemplate", "\u202e", "\ufeff", "🙂" * 50,
    ]
)  # fmt: skip
# A form post can't carry unpaired surrogates (they don't encode); the API's JSON can.
chars = st.characters(exclude_categories=("Cs",))
text = st.one_of(nasty, st.text(chars, max_size=40), st.text(chars, max_size=300), nasty)
api_text = st.one_of(text, st.just("\ud800"), st.text(max_size=40))
html_text = st.one_of(
    text,
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<div style='color:red'>",
                "</div>",
                "<script>",
                "</script>",
                "<!--",
                "-->",
                "<a href='x'>",
                "<img src=x onerror=alert(1)>",
                "<table><tr><td>",
                "&amp;",
                "&#0;",
                "<",
                ">",
                '"',
                "'",
                "<html><body>",
                "</body></html>",
                '<p title="',
                "x",
            ]
        )
        | st.text(chars, max_size=10),
        max_size=30,
    ).map("".join),
)
page_value = st.one_of(
    st.sampled_from(["-1", "0", "1", "2", "999999", "abc", "", "1.5", "last", "²", "\x00"]), text
)


def form(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the fields, each a string or a list of strings."""
    values = {
        name: st.one_of(strategy, st.lists(strategy, max_size=3))
        for name, strategy in fields.items()
    }
    return st.fixed_dictionaries({}, optional=values)


def choice(*valid: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(valid), text)


IDENTITY_FORM = form(
    {
        "identity_type": choice("DOMAIN", "EMAIL_ADDRESS"),
        "domain": text,
        "email": text,
        "confirm_www": choice("on"),
        "assign_configuration_set": choice("on"),
        "configuration_set": choice("owner-set", ""),
        "use_mail_from": choice("on"),
        "mail_from_domain": text,
        "mail_from_behavior": choice("USE_DEFAULT_VALUE", "REJECT_MESSAGE"),
        "dkim_type": choice("AWS_SES", "EXTERNAL"),
        "key_length": choice("RSA_1024_BIT", "RSA_2048_BIT"),
        "private_key": text,
        "selector": text,
        "dkim_signing_enabled": choice("on"),
        "publish_records": choice("on"),
        "tag_key": text,
        "tag_value": text,
        "add_tag": choice("1", ""),
        "remove_tag": page_value,
    }
)


def _record(group: str, response: Any) -> Any:
    STATUSES[response.status_code] += 1
    GROUPS[group] += 1
    return response


def _send(client: Client, group: str, method: str, path: str, data: Any) -> None:
    try:
        response = getattr(client, method)(path, data)
    except Exception:
        STATUSES[500] += 1
        GROUPS[group] += 1
        raise
    _record(group, response)
    assert response.status_code < 500, (method, path, data)


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture
def fuzz_client(world: World, owner: Any) -> Client:
    Identity.objects.filter(pk=world.domain.pk).update(
        verification_status=VerificationStatus.SUCCESS
    )
    world.account.region_settings(world.region).grant_production_access()
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture(autouse=True)
def _no_background_work(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forms may ask to publish records or send mail: that happens after commit, which a test
    # transaction never does; nothing leaves the process. Keep DNS quick regardless.
    settings.DNS_TIMEOUT = 0.2


# --- console forms ---------------------------------------------------------------------------
@settings(FUZZ, max_examples=900)
@given(data=IDENTITY_FORM)
def test_fuzz_create_identity_form(fuzz_client: Client, data: dict[str, Any]) -> None:
    _send(fuzz_client, "create identity", "post", f"/{REGION}/verified-identities/create/", data)


EDITS = st.one_of(
    st.tuples(st.just("tags/edit/"), form({"tag_key": text, "tag_value": text, "add_tag": choice("1"), "remove_tag": page_value})),
    st.tuples(st.just("mail-from/edit/"), form({"use_mail_from": choice("on"), "mail_from_domain": text, "mail_from_behavior": choice("REJECT_MESSAGE")})),
    st.tuples(st.just("dkim/edit/"), form({"dkim_type": choice("AWS_SES", "EXTERNAL"), "key_length": choice("RSA_1024_BIT", "RSA_2048_BIT"), "selector": text, "private_key": text, "dkim_signing_enabled": choice("on")})),
    st.tuples(st.just("configuration-set/edit/"), form({"configuration_set": choice("owner-set", "")})),
    st.tuples(st.just("notifications/edit/"), form({"feedback_forwarding_enabled": choice("on")})),
    st.tuples(st.just("delete/"), form({"confirm": text})),
)  # fmt: skip


@settings(FUZZ, max_examples=700)
@given(
    edit=EDITS,
    target=st.sampled_from(
        ["owner-only.example", "owner-byodkim.example", "owner.sender@owner-only.example"]
    ),
)
def test_fuzz_identity_edit_forms(
    fuzz_client: Client, edit: tuple[str, dict[str, Any]], target: str
) -> None:
    suffix, data = edit
    _send(
        fuzz_client,
        "identity edits",
        "post",
        f"/{REGION}/verified-identities/{target}/{suffix}",
        data,
    )


OTHER_FORMS = st.one_of(
    st.tuples(st.just(f"/{REGION}/configuration-sets/create/"), form({"name": text})),
    st.tuples(st.just(f"/{REGION}/create-custom-verification-template/"), form({
        "name": choice("Fuzz", "OwnerTemplate"), "from_email_address": choice("x@owner-only.example"),
        "subject": text, "content": html_text, "success_redirection_url": choice("https://example.com/"),
        "failure_redirection_url": choice("https://example.com/")})),
    st.tuples(st.just(f"/{REGION}/custom-verification-templates/OwnerTemplate/edit/"), form({
        "name": choice("OwnerTemplate"), "from_email_address": choice("x@owner-only.example"),
        "subject": text, "content": html_text, "success_redirection_url": choice("https://example.com/"),
        "failure_redirection_url": choice("https://example.com/")})),
    st.tuples(st.just(f"/{REGION}/custom-verification-templates/OwnerTemplate/send-test/"), form({"email_address": text})),
    st.tuples(st.just("/dns-servers/add/"), form({"zone": text, "server": text, "port": page_value, "key_name": text,
        "key_algorithm": choice("hmac-sha256"), "tsig_secret": choice("c2VjcmV0")})),
    st.tuples(st.just("/access-keys/create/"), form({"description": text})),
    st.tuples(st.just(f"/{REGION}/account/"), form({"mail_type": choice("MARKETING", "TRANSACTIONAL"), "website_url": text,
        "use_case_description": text, "contact_language": choice("EN", "JA"), "additional_contacts": text})),
    st.tuples(st.just(f"/{REGION}/verified-identities/delete/"), form({"identity": text, "confirm": choice("no")})),
    st.tuples(st.just("/login/"), form({"username": text, "password": text, "next": text})),
)  # fmt: skip


@settings(FUZZ, max_examples=900)
@given(request=OTHER_FORMS)
def test_fuzz_other_console_forms(fuzz_client: Client, request: tuple[str, dict[str, Any]]) -> None:
    path, data = request
    _send(fuzz_client, "other forms", "post", path, data)


# --- GET parameters and path segments ----------------------------------------------------------
GETS = st.one_of(
    st.tuples(st.just(f"/{REGION}/verified-identities/"), form({"q": text, "type": choice("DOMAIN"), "status": choice("PENDING"),
        "sort": choice("name", "-name", "status", "-status"), "page": page_value})),
    st.tuples(st.just(f"/{REGION}/verified-identities/which/"), form({"address": text})),
    st.tuples(st.just("/switch-region/"), form({"region": choice("eu-west-1")})),
    st.tuples(st.just(f"/{REGION}/sent-messages/"), form({"kind": choice("verification", "account"), "sender": text,
        "recipient": text, "status": choice("KEPT"), "since": text, "before": text})),
    st.tuples(st.just("/dns-servers/signing-zone/"), form({"zone": text})),
    st.tuples(st.just("/login/"), form({"next": text})),
)  # fmt: skip
segment = st.one_of(nasty, st.text(chars, min_size=1, max_size=30)).map(lambda s: quote(s, safe=""))


@settings(FUZZ, max_examples=900)
@given(request=GETS)
def test_fuzz_get_parameters(fuzz_client: Client, request: tuple[str, dict[str, Any]]) -> None:
    path, params = request
    _send(fuzz_client, "GET parameters", "get", path, params)


PATHS = st.one_of(
    st.tuples(segment, st.sampled_from(["verified-identities/", "configuration-sets/", "custom-verification-templates/", "account/"])).map(lambda t: f"/{t[0]}/{t[1]}"),
    st.tuples(segment, st.sampled_from(["", "tags/", "dkim/edit/", "records.csv", "records.zone", "status/", "verification-mail/"])).map(lambda t: f"/{REGION}/verified-identities/{t[0]}/{t[1]}"),
    segment.map(lambda s: f"/{REGION}/custom-verification-templates/{s}/preview/"),
    segment.map(lambda s: f"/{REGION}/configuration-sets/{s}/delete/"),
    segment.map(lambda s: f"/access-keys/{s}/delete/"),
    segment.map(lambda s: f"/{REGION}/sent-messages/{s}/"),
    segment.map(lambda s: f"/verify/{s}/"),
)  # fmt: skip


@settings(FUZZ, max_examples=500)
@given(path=PATHS, method=st.sampled_from(["get", "post"]))
def test_fuzz_console_paths(fuzz_client: Client, path: str, method: str) -> None:
    _send(fuzz_client, "console paths", method, path, {})


# --- the SES API ----------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | api_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(api_text, children, max_size=4)
    ),
    max_leaves=10,
)
MEMBERS = [
    "EmailIdentity", "Tags", "DkimSigningAttributes", "ConfigurationSetName", "TemplateName",
    "FromEmailAddress", "TemplateSubject", "TemplateContent", "SuccessRedirectionURL",
    "FailureRedirectionURL", "EmailAddress", "ResourceArn", "SigningEnabled", "MailFromDomain",
    "BehaviorOnMxFailure", "EmailForwardingEnabled", "Policy", "MailType", "WebsiteURL",
    "NextToken", "PageSize", "SigningAttributesOrigin", "DomainSigningSelector",
    "DomainSigningPrivateKey", "NextSigningKeyLength",
]  # fmt: skip
bodies = st.one_of(
    st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=5).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
    st.just(b""),
)  # fmt: skip
queries = st.dictionaries(
    st.sampled_from(["ResourceArn", "TagKeys", "NextToken", "PageSize", "x"]), text, max_size=3
).map(lambda q: urlencode(q))


@pytest.fixture
def api_key(world: World) -> tuple[str, str]:
    return world.access_key.access_key_id, world.access_key_secret


ROUTES = st.sampled_from(sorted({(route, method) for route, method, *_ in api_routes()}))


@settings(FUZZ, max_examples=1300)
@given(
    route=ROUTES,
    segments=st.lists(st.one_of(segment, st.sampled_from(["owner-only.example", "OwnerPolicy", "OwnerTemplate", "owner-set"])), min_size=2, max_size=2),
    body=bodies,
    query=queries,
)  # fmt: skip
def test_fuzz_signed_api_requests(
    api_key: tuple[str, str], route: tuple[str, str], segments: list[str], body: bytes, query: str
) -> None:
    pattern, method = route
    path = "/" + pattern
    for param in ("email_identity", "template_name", "configuration_set_name", "policy_name"):
        if f"<str:{param}>" in path:
            path = path.replace(
                f"<str:{param}>", segments[0] if param != "policy_name" else segments[1]
            )
    try:
        response = api_request(Client(), *api_key, method, path, body=body, query=query)
    except Exception:
        STATUSES[500] += 1
        raise
    _record("API", response)
    assert response.status_code < 500, (method, path, body, response.content)
    assert response.headers["Content-Type"] == "application/json"


def test_fuzz_totals() -> None:
    """Run with the whole file: the histogram of every status the fuzzers saw."""
    if sum(GROUPS.values()) == 0:
        pytest.skip("run the whole file to see the totals")
    total = sum(STATUSES.values())
    print(f"\nfuzz: {total} requests; by status: {dict(sorted(STATUSES.items()))}")
    print(f"fuzz: by group: {dict(GROUPS)}")
    assert sum(count for status, count in STATUSES.items() if status >= 500) == 0
    assert total >= 5000
