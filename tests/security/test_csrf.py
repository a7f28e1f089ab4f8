"""CSRF: every console view that accepts POST refuses one without the token; the API is
csrf_exempt but SigV4-only, so a browser's session cookie can't call it."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from tests.security.conftest import World, allowed_methods, console_urls, owner_snapshot, url_for


def _csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_every_console_post_without_a_token_is_refused(world: World, owner: Any) -> None:
    client = _csrf_client(owner)
    before = owner_snapshot(world.account)
    refused, problems = [], []
    for url in console_urls():
        path = url_for(url, world)
        if "POST" not in allowed_methods(Client(), path):
            continue
        response = client.post(path, {"confirm": "yes", "identity": world.domain.name})
        if response.status_code == 403 and b"CSRF" in response.content:
            refused.append(url.name)
        else:
            problems.append((url.name, response.status_code))
    assert problems == []
    assert len(refused) >= 25  # the walk did find the POST views (login and logout included)
    assert {"login", "logout", "identities:delete", "access_key_create"} <= set(refused)
    assert owner_snapshot(world.account) == before


def test_console_post_with_the_token_is_accepted(world: World, owner: Any) -> None:
    """The control: the same client with the form's token gets through."""
    client = _csrf_client(owner)
    path = reverse(
        "identities:edit_tags", kwargs={"region": "us-east-1", "name": world.domain.name}
    )
    token = client.get(path).context["csrf_token"]

    response = client.post(path, {"csrfmiddlewaretoken": str(token), "tag_key": "k"})

    assert response.status_code == 302


def test_api_ignores_the_session_cookie(world: World, owner: Any) -> None:
    """csrf_exempt is safe only because the API never reads the session: a signed-in browser
    without a SigV4 signature is refused."""
    client = _csrf_client(owner)
    before = owner_snapshot(world.account)

    get = client.get(f"/v2/email/identities/{world.domain.name}")
    delete = client.delete(f"/v2/email/identities/{world.domain.name}")
    create = client.post(
        "/v2/email/identities", {"EmailIdentity": "x.example"}, content_type="application/json"
    )

    for response in (get, delete, create):
        assert response.status_code == 403
        assert response.headers["x-amzn-ErrorType"].split(":")[0] == (
            "MissingAuthenticationTokenException"
        )
    assert owner_snapshot(world.account) == before
