"""The access matrix: every console URL, every admin page and every SES API operation, walked
as an anonymous visitor, an outsider account, a user of no account, a teammate and a wrong key.

Nothing leaks (another account's object is a 404, never a 403 that would confirm its name) and
nothing changes (the owner's rows are compared before and after).

There is no read-only role to test: Membership has OWNER and MEMBER, and both have the same
rights in the console and the API (accounts/models.py, accounts/access_key_views.py). The
teammate persona is such a MEMBER.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey, Account, Region
from tests.security.conftest import (
    PUBLIC_URLS,
    STAFF_URLS,
    ConsoleUrl,
    World,
    all_url_patterns,
    allowed_methods,
    console_urls,
    encoded,
    is_api,
    object_scoped,
    owner_snapshot,
    url_for,
)

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")

# What a hostile POST would send: enough that the view would change the object if it let the
# request through. Views not named here get an empty form.
POST_DATA: dict[str, Callable[[World], dict[str, Any]]] = {
    "identities:bulk_delete": lambda w: {
        "identity": [w.domain.name, w.byodkim.name, w.email.name],
        "confirm": "yes",
    },
    "identities:delete": lambda w: {"confirm": w.domain.name},
    # Every delete's typed confirmation, right: only the scope check can refuse it.
    "identities:configuration_set_delete": lambda w: {"confirm": w.config_set.name},
    "identities:dns_server_delete": lambda w: {"confirm": w.dns_server.zone},
    "identities:policy_delete": lambda w: {"confirm": w.policy.name},
    "templates_app:delete": lambda w: {"confirm": w.template.name},
    "access_key_delete": lambda w: {"confirm": w.access_key.access_key_id},
    "identities:edit_tags": lambda w: {"tag_key": "stolen", "tag_value": "yes"},
    "identities:edit_dkim": lambda w: {"dkim_type": "AWS_SES", "key_length": "RSA_2048_BIT"},
    "identities:edit_mail_from": lambda w: {},
    "identities:edit_configuration_set": lambda w: {"configuration_set": ""},
    "identities:edit_feedback": lambda w: {},
    "identities:create": lambda w: {"identity_type": "DOMAIN", "domain": "outsider-new.example"},
    "identities:configuration_set_create": lambda w: {"name": "outsider-set"},
    "templates_app:edit": lambda w: {
        "name": w.template.name,
        "from_email_address": w.template.from_email_address,
        "subject": "Stolen",
        "content": "<p>Stolen</p>",
        "success_redirection_url": "https://evil.example/",
        "failure_redirection_url": "https://evil.example/",
    },
    "templates_app:send_test": lambda w: {"email_address": "victim@evil.example"},
    "account_dashboard": lambda w: {
        "mail_type": "TRANSACTIONAL",
        "website_url": "https://evil.example/",
        "use_case_description": "x",
        "contact_language": "EN",
    },
    "access_key_create": lambda w: {"description": "outsider"},
}
# Signing in or out changes who the client is: those two are tested on their own.
SESSION_URLS = {"login", "logout"}


def _post_data(url: ConsoleUrl, world: World) -> dict[str, Any]:
    return POST_DATA.get(url.name, lambda w: {})(world)


def _shows_owner_data(body: bytes, world: World) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [name for name in world.private_names if name in text]


def _walk(client: Client, world: World) -> list[tuple[ConsoleUrl, str, set[str]]]:
    anonymous = Client()
    return [
        (url, url_for(url, world), allowed_methods(anonymous, url_for(url, world)))
        for url in console_urls()
    ]


def test_every_console_url_has_a_recipe_and_a_method_decorator(world: World) -> None:
    urls = console_urls()
    assert len(urls) >= 45  # sanity: the walk found the whole console
    for url in urls:
        methods = allowed_methods(Client(), url_for(url, world))
        assert methods & {"GET", "POST"}, (url.name, methods)


def test_anonymous_gets_a_login_redirect_or_an_error_and_changes_nothing(world: World) -> None:
    client = Client()
    before = owner_snapshot(world.account)
    problems = []
    for url, path, methods in _walk(client, world):
        for method in sorted(methods & {"GET", "POST"}):
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, _post_data(url, world))
            if url.name in PUBLIC_URLS:
                expected_public = {
                    ("login", "GET"): 200,
                    ("login", "POST"): 200,  # the form again, with an error
                    ("verification:confirm", "GET"): 404,  # an unknown token
                    ("favicon", "GET"): 301,  # to the static icon
                }
                if response.status_code != expected_public[url.name, method]:
                    problems.append((url.name, method, response.status_code))
                continue
            location = response.headers.get("Location", "")
            redirected_to_login = response.status_code == 302 and location.startswith(
                ADMIN_LOGIN if url.name in STAFF_URLS else LOGIN
            )
            if not (redirected_to_login or response.status_code in (403, 404, 405)):
                problems.append((url.name, method, response.status_code, location))
            if _shows_owner_data(response.content, world):
                problems.append(
                    (url.name, method, "shows", _shows_owner_data(response.content, world))
                )
    assert problems == []
    assert owner_snapshot(world.account) == before


def test_anonymous_logout_post_is_harmless(client: Client) -> None:
    response = client.post(reverse("logout"))
    assert (response.status_code, response.headers["Location"]) == (302, LOGIN)


@pytest.mark.parametrize("persona", ["outsider", "operator"])
def test_other_accounts_get_404_for_every_owner_object_and_change_nothing(
    world: World,
    outsider_world: Any,
    outsider_client: Client,
    operator_client: Client,
    other_account: Account,
    region: Region,
    persona: str,
) -> None:
    """The outsider has an account of their own; the operator (staff) has none. Neither may
    see or touch the owner's objects through the console."""
    client = outsider_client if persona == "outsider" else operator_client
    # With production access, a send-test of the owner's template gets as far as the lookup.
    other_account.region_settings(region).grant_production_access()
    before = owner_snapshot(world.account)
    problems = []
    for url, path, methods in _walk(client, world):
        if url.name in SESSION_URLS or url.name in PUBLIC_URLS:
            continue
        for method in sorted(methods & {"GET", "POST"}):
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, _post_data(url, world))
            status = response.status_code
            if (
                (object_scoped(url) and status != 404)
                or (url.name in STAFF_URLS and persona == "outsider" and status != 302)
                or status >= 500
            ):
                problems.append((persona, url.name, method, status))
            if leaked := _shows_owner_data(response.content, world):
                problems.append((persona, url.name, method, "shows", leaked))
    assert problems == []
    assert owner_snapshot(world.account) == before


def test_teammate_may_open_every_page_of_the_account(world: World, teammate_client: Client) -> None:
    problems = []
    for url, path, methods in _walk(teammate_client, world):
        if "GET" not in methods or url.name in SESSION_URLS:
            continue
        response = teammate_client.get(path)
        expected: tuple[int, ...] = (200, 302)
        if url.name == "verification:confirm":
            expected = (404,)  # the matrix's token is not a real one
        if url.name == "favicon":
            expected = (301,)  # to the static icon
        if url.name == "sending:mailbox":
            expected = (301,)  # the old Mailbox, to Sent messages
        if response.status_code not in expected:
            problems.append((url.name, response.status_code))
        if url.name in STAFF_URLS and not response.headers["Location"].startswith(ADMIN_LOGIN):
            problems.append((url.name, "staff page without staff"))
    assert problems == []


def test_teammate_may_change_the_accounts_objects(world: World, teammate_client: Client) -> None:
    path = reverse(
        "identities:edit_tags", kwargs={"region": "us-east-1", "name": world.domain.name}
    )

    response = teammate_client.post(path, {"tag_key": "team", "tag_value": "yes"})

    assert response.status_code == 302
    assert list(world.domain.tags.values_list("key", "value")) == [("team", "yes")]


# --- admin -----------------------------------------------------------------------------------
SITE_ADMIN_URLS = {
    "admin:index", "admin:login", "admin:logout", "admin:password_change",
    "admin:password_change_done", "admin:autocomplete", "admin:jsi18n", "admin:view_on_site",
    "admin:app_list",
}  # fmt: skip
MODEL_ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")
# Model admins' own extra views (UserAdmin's "change password" form).
EXTRA_MODEL_ADMIN_URLS = {"admin:auth_user_password_change"}


def _admin_urls(world: World) -> list[str]:
    """Every admin page: the site's own and each registered model's five views."""
    urls = [
        reverse("admin:index"),
        reverse("admin:password_change"),
        reverse("admin:password_change_done"),
        reverse("admin:autocomplete"),
        reverse("admin:jsi18n"),
    ]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse("admin:app_list", kwargs={"app_label": meta.app_label}))
        obj = model._default_manager.order_by("pk").first()
        pk = obj.pk if obj is not None else 1
        for view in MODEL_ADMIN_VIEWS:
            name = f"admin:{meta.app_label}_{meta.model_name}_{view}"
            args = [] if view in ("changelist", "add") else [quote(str(pk))]
            urls.append(reverse(name, args=args))
    user_pk = world.account.memberships.first().user_id
    urls.append(reverse("admin:auth_user_password_change", args=[user_pk]))
    return sorted(set(urls))


def test_every_admin_url_name_is_covered() -> None:
    model_views = {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
        for model in admin.site._registry
        for view in MODEL_ADMIN_VIEWS
    }
    names = {name for name, route, *_ in all_url_patterns() if route.startswith("admin/") and name}
    assert names - model_views - SITE_ADMIN_URLS - EXTRA_MODEL_ADMIN_URLS == set()


@pytest.mark.parametrize("persona", ["anonymous", "owner"])
def test_admin_pages_send_non_staff_to_the_admin_login(
    world: World, owner_client: Client, persona: str
) -> None:
    client = owner_client if persona == "owner" else Client()
    before = owner_snapshot(world.account)
    problems = []
    for path in _admin_urls(world):
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"post": "yes"} if method == "post" else {})
            location = response.headers.get("Location", "")
            if response.status_code != 302 or not location.startswith(ADMIN_LOGIN):
                problems.append((path, method, response.status_code, location))
    assert problems == []
    assert owner_snapshot(world.account) == before


def test_admin_pages_open_for_the_operator(world: World, operator_client: Client) -> None:
    """The same URLs work for staff, so the redirects above are not 404s in disguise."""
    problems = []
    for model in admin.site._registry:
        meta = model._meta
        path = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        if (status := operator_client.get(path).status_code) != 200:
            problems.append((path, status))
    assert problems == []


# --- SES API -----------------------------------------------------------------------------------
def api_routes() -> list[tuple[str, str, str | None, str]]:
    """(route, method, botocore operation, function name) for every routed API operation."""
    found = []
    for _name, route, callback, _defaults, _params in all_url_patterns():
        if not is_api(callback):
            continue
        routes = inspect.getclosurevars(inspect.unwrap(callback)).nonlocals.get("routes")
        if routes is None:  # the catch-all /v2/ answer and the bench no-op
            continue
        for method, target in routes.items():
            found.append((route, method, target.model_name, target.function.__name__))
    assert len(found) >= 30, "The API walk found too few operations: is api.views.endpoint changed?"
    return found


def _api_path(route: str, world: World) -> str:
    values = {
        "email_identity": world.domain.name,
        "policy_name": world.policy.name,
        "template_name": world.template.name,
        "configuration_set_name": world.config_set.name,
    }
    path = "/" + route
    for param, value in values.items():
        path = path.replace(f"<str:{param}>", encoded(value))
    assert "<" not in path, f"No value for a parameter of the API route {route}."
    return path


TEMPLATE_BODY = {
    "TemplateName": "OutsiderTemplate",
    "FromEmailAddress": "someone@outsider.example",
    "TemplateSubject": "s",
    "TemplateContent": "<p>x</p>",
    "SuccessRedirectionURL": "https://outsider.example/ok",
    "FailureRedirectionURL": "https://outsider.example/no",
}


def _api_request(function: str, world: World) -> tuple[dict[str, Any], str]:
    """(body, query) aimed at the owner's resources, by operation function."""
    arn = world.domain.arn
    bodies: dict[str, dict[str, Any]] = {
        "create_email_identity": {"EmailIdentity": "outsider-new.example"},
        "put_dkim_attributes": {"SigningEnabled": False},
        "put_dkim_signing_attributes": {"SigningAttributesOrigin": "AWS_SES"},
        "put_feedback_attributes": {"EmailForwardingEnabled": False},
        "create_policy": {"Policy": world.policy.document},
        "update_policy": {"Policy": world.policy.document},
        "create_template": TEMPLATE_BODY,
        "update_template": {"TemplateSubject": "Stolen"},
        "send_custom_verification_email": {
            "EmailAddress": "victim@evil.example",
            "TemplateName": world.template.name,
        },
        "create_configuration_set": {"ConfigurationSetName": "outsider-set"},
        "send_email": {
            "FromEmailAddress": f"someone@{world.domain.name}",
            "FromEmailAddressIdentityArn": arn,
            "Destination": {"ToAddresses": ["victim@evil.example"]},
            "Content": {"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
        },
        "tag_resource": {"ResourceArn": arn, "Tags": [{"Key": "stolen", "Value": "yes"}]},
        "put_account_details": {
            "MailType": "TRANSACTIONAL",
            "WebsiteURL": "https://outsider.example/",
            "UseCaseDescription": "x",
        },
    }
    queries = {
        "untag_resource": urlencode({"ResourceArn": arn, "TagKeys": "owner-tag-key"}),
        "list_tags": urlencode({"ResourceArn": arn}),
    }
    return bodies.get(function, {}), queries.get(function, "")


# Operations that act on the caller's own account (creating, listing, the account itself):
# with the outsider's key they may succeed, but only inside the outsider's account.
OWN_ACCOUNT_OPERATIONS = {
    "create_email_identity", "list_email_identities", "list_email_identities_query",
    "create_template", "list_templates", "create_configuration_set", "list_configuration_sets",
    "list_configuration_sets_query", "get_account", "put_account_details",
}  # fmt: skip
READ_ONLY_OBJECT_OPERATIONS = {
    "get_email_identity", "get_policies", "get_template", "get_configuration_set", "list_tags",
}  # fmt: skip


def _call(
    api: Callable[..., Any],
    key: tuple[str, str],
    route: tuple[str, str, str | None, str],
    world: World,
    **kwargs: Any,
) -> Any:
    path_route, method, _model, function = route
    body, query = _api_request(function, world)
    payload = json.dumps(body).encode() if body else b""
    return api(key, method, _api_path(path_route, world), body=payload, query=query, **kwargs)


def test_every_api_operation_is_routed_and_known() -> None:
    routes = api_routes()
    functions = {function for *_, function in routes}
    assert len(routes) >= 30
    unknown = functions - OWN_ACCOUNT_OPERATIONS
    # Every other operation names one of the owner's objects: it must be a 404 below.
    assert all(
        "<str:" in route or function in ("tag_resource", "untag_resource", "list_tags",
                                         "send_custom_verification_email", "send_email")
        for route, _m, _o, function in routes
        if function in unknown
    )  # fmt: skip


def test_owner_key_reaches_the_objects_the_matrix_names(
    world: World, api: Callable[..., Any]
) -> None:
    key = (world.access_key.access_key_id, world.access_key_secret)
    for route in api_routes():
        if route[3] in READ_ONLY_OBJECT_OPERATIONS:
            response = _call(api, key, route, world)
            assert response.status_code == 200, (route, response.content)


def test_outsider_key_gets_not_found_for_every_owner_object_and_changes_nothing(
    world: World,
    outsider_world: Any,
    other_account: Account,
    region: Region,
    api: Callable[..., Any],
) -> None:
    other_account.region_settings(region).grant_production_access()
    outsider_key, secret = AccessKey.issue(other_account)
    key = (outsider_key.access_key_id, secret)
    before = owner_snapshot(world.account)
    problems = []
    for route in api_routes():
        response = _call(api, key, route, world)
        error = response.headers.get("x-amzn-ErrorType", "")
        if route[3] in OWN_ACCOUNT_OPERATIONS:
            if response.status_code >= 500:
                problems.append((route, response.status_code))
            # Lists and the account show only the outsider's own things. (A 404 echoes the
            # name the caller sent, so it is compared with a missing name's answer below.)
            if leaked := _shows_owner_data(response.content, world):
                problems.append((route, "shows", leaked))
        elif route[3] == "send_email":
            # Sending through the owner's identity needs the owner's policy (none allows it).
            if (response.status_code, error) != (403, "AccessDeniedException"):
                problems.append((route, response.status_code, error))
        elif (response.status_code, error.split(":")[0]) != (404, "NotFoundException"):
            problems.append((route, response.status_code, error))
    assert problems == []
    assert owner_snapshot(world.account) == before


@pytest.mark.parametrize(
    ("credentials", "error"),
    [
        ("unknown key", "UnrecognizedClientException"),
        ("wrong secret", "SignatureDoesNotMatch"),
        ("unsigned", "MissingAuthenticationTokenException"),
    ],
)
def test_wrong_key_gets_403_for_every_operation_and_changes_nothing(
    world: World, api: Callable[..., Any], credentials: str, error: str
) -> None:
    key = {
        "unknown key": ("AKIAUNKNOWNUNKNOWN22", world.access_key_secret),
        "wrong secret": (world.access_key.access_key_id, "wrong-secret"),
        "unsigned": (world.access_key.access_key_id, world.access_key_secret),
    }[credentials]
    before = owner_snapshot(world.account)
    problems = []
    for route in api_routes():
        response = _call(api, key, route, world, sign=credentials != "unsigned")
        got = response.headers.get("x-amzn-ErrorType", "").split(":")[0]
        if (response.status_code, got) != (403, error):
            problems.append((route, response.status_code, got))
        if leaked := _shows_owner_data(response.content, world):
            problems.append((route, "shows", leaked))
    assert problems == []
    assert owner_snapshot(world.account) == before


def test_another_accounts_identity_reads_exactly_like_a_missing_one(
    world: World, other_account: Account, api: Callable[..., Any]
) -> None:
    outsider_key, secret = AccessKey.issue(other_account)
    key = (outsider_key.access_key_id, secret)

    owners = api(key, "GET", f"/v2/email/identities/{world.domain.name}")
    missing = api(key, "GET", "/v2/email/identities/nobody-has-this.example")

    assert owners.status_code == missing.status_code == 404
    assert owners.json()["message"].replace(world.domain.name, "X") == missing.json()[
        "message"
    ].replace("nobody-has-this.example", "X")
