"""Console messages from the first-hour review: an unchanged default configuration set records
nothing, and an address whose domain identity exists but is pending is told to verify it,
not to create it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import ConfigurationSet, Identity


def url(view: str, identity: Identity) -> str:
    return reverse(
        f"identities:{view}", kwargs={"region": identity.region_id, "name": identity.name}
    )


def test_unchanged_default_configuration_set_records_nothing(
    owner_client: Client, make_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    domain = make_domain("acme-demo.com")
    ConfigurationSet.objects.create(account=account, region=region, name="transactional")
    owner_client.post(url("edit_configuration_set", domain), {"configuration_set": "transactional"})
    before = domain.events.count()
    response = owner_client.post(
        url("edit_configuration_set", domain), {"configuration_set": "transactional"}
    )
    assert response["Location"] == url("tab_configuration_set", domain)
    # (the first save's message is still in the session: nobody displayed it)
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "The default configuration set is unchanged."
    )
    assert domain.events.count() == before
    # None → None is no change either.
    other = make_domain("other-demo.com")
    owner_client.post(url("edit_configuration_set", other), {"configuration_set": ""})
    assert other.events.filter(kind="configuration_set").count() == 0


def test_address_of_a_pending_domain_is_told_to_verify_it(
    owner_client: Client,
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
) -> None:
    email = make_email("news@acme-demo.com")
    page = owner_client.get(url("detail", email)).content.decode()
    assert "verify the DKIM setup of the domain identity acme-demo.com (or" in page
    domain = make_domain("acme-demo.com")
    page = owner_client.get(url("detail", email)).content.decode()
    assert "verify the DKIM setup of the domain identity" not in page
    assert (
        f'The domain identity <a href="{url("detail", domain)}">acme-demo.com</a> is pending, '
        "not verified yet, so messages from this address are not DKIM-signed."
    ) in page


def test_create_form_refuses_a_65_character_local_part(
    owner_client: Client, region: Region
) -> None:
    response = owner_client.post(
        reverse("identities:create", kwargs={"region": region.code}),
        {"identity_type": "EMAIL_ADDRESS", "email": "a" * 65 + "@example.com"},
    )
    assert response.status_code == 200
    assert (
        "The part before the @ is 65 characters long; it can have at most 64. Shorten it."
        in response.content.decode()
    )
    assert not Identity.objects.exists()


@pytest.mark.parametrize(("wait", "text"), [(1, "1 second."), (2, "2 seconds.")])
def test_resend_wait_counts_seconds_in_words(
    make_email: Callable[..., Identity], wait: int, text: str
) -> None:
    identity = make_email("news@example.com")
    html = render_to_string(
        "verification/_email_verification.html",
        {"identity": identity, "can_resend": True, "resend_wait": wait},
    )
    assert f"You can resend in {text}</span>" in html


def test_operation_setting_the_same_set_records_nothing(
    make_domain: Callable[..., Identity], account: Account, region: Region
) -> None:
    # The rule lives in the operation, so the API and admin get it too.
    from identities import operations

    domain = make_domain("acme-demo.com")
    ConfigurationSet.objects.create(account=account, region=region, name="transactional")
    assert operations.set_configuration_set(domain, "transactional", actor="t") is True
    before = domain.events.count()
    assert operations.set_configuration_set(domain, "transactional", actor="t") is False
    assert domain.events.count() == before
