"""In a real browser: every delete outside the identities list (configuration set, DNS server,
custom verification template, access key, policy) confirms in the page's dialog with the
resource's name typed, its Delete button disabled until the text matches."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import AccessKey, Account, Region
from identities import provisioning
from identities.models import ConfigurationSet, DnsServer, Identity, IdentityPolicy
from templates_app.models import CustomVerificationEmailTemplate
from tests.browser.test_console_smoke import sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def _config_set(account: Account, region: Region) -> tuple[str, str, Any]:
    provisioning.create_configuration_set(account, region, "marketing")
    return "/us-east-1/configuration-sets/", "marketing", ConfigurationSet.objects


def _dns_server(account: Account, region: Region) -> tuple[str, str, Any]:
    server = DnsServer(account=account, zone="zone.example", server="192.0.2.1", key_name="k")
    server.set_secret("c2VjcmV0")
    server.save()
    return "/dns-servers/", "zone.example", DnsServer.objects


def _template(account: Account, region: Region) -> tuple[str, str, Any]:
    CustomVerificationEmailTemplate.objects.create(
        account=account,
        region=region,
        name="Welcome",
        from_email_address="sender@example.com",
        subject="Welcome",
        content="<p>Hello</p>",
        success_redirection_url="https://example.com/ok",
        failure_redirection_url="https://example.com/failed",
    )
    return (
        "/us-east-1/custom-verification-templates/Welcome/",
        "Welcome",
        (CustomVerificationEmailTemplate.objects),
    )


def _access_key(account: Account, region: Region) -> tuple[str, str, Any]:
    key, _secret = AccessKey.issue(account, description="ci")
    return "/access-keys/", key.access_key_id, AccessKey.objects


def _policy(account: Account, region: Region) -> tuple[str, str, Any]:
    identity = Identity.objects.get(name="example.com")
    IdentityPolicy.objects.create(
        identity=identity, name="AllowPartner", document='{"Version": "2012-10-17"}'
    )
    return (
        "/us-east-1/verified-identities/example.com/authorization/",
        "AllowPartner",
        (IdentityPolicy.objects),
    )


@pytest.mark.parametrize(
    "make", [_config_set, _dns_server, _template, _access_key, _policy], ids=lambda f: f.__name__
)
def test_delete_confirms_in_a_dialog_with_the_typed_name(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
    make: Callable[[Account, Region], tuple[str, str, Any]],
) -> None:
    make_domain("example.com")
    path, name, rows = make(account, region)
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + path)
    # The last one: on the identity page the identity's own Delete comes first.
    page.locator("a[data-opens-dialog]").last.click()
    dialog = page.locator("#console-dialog")
    expect(dialog).to_be_visible()
    assert page.url == live_server.url + path  # the page stays where it is under the dialog
    delete = dialog.get_by_role("button", name="Delete")
    expect(delete).to_be_disabled()
    dialog.get_by_label(f"To confirm deletion, enter {name}").fill(name[:-1])
    expect(delete).to_be_disabled()
    dialog.get_by_label(f"To confirm deletion, enter {name}").fill(name)
    expect(delete).to_be_enabled()
    delete.click()
    expect(page.locator(".flashes")).to_contain_text("deleted")
    assert rows.count() == 0
