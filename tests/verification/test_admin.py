"""Admin for verification links: read-only, never the token."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client
from django.urls import reverse

from verification.models import VerificationLink


def test_link_admin_is_read_only_and_hides_the_token(
    operator_client: Client, issue_link: Callable[..., VerificationLink]
) -> None:
    link = issue_link("someone@example.com")
    token, token_hash = link.token(), link.token_hash
    listing = operator_client.get(reverse("admin:verification_verificationlink_changelist"))
    assert listing.status_code == 200
    assert b"someone@example.com" in listing.content
    page = operator_client.get(
        reverse("admin:verification_verificationlink_change", args=[link.pk])
    )
    assert page.status_code == 200
    assert token.encode() not in page.content
    assert token_hash.encode() not in page.content
    assert link.token_encrypted.encode() not in page.content
    assert (
        operator_client.get(reverse("admin:verification_verificationlink_add")).status_code == 403
    )
    operator_client.post(
        reverse("admin:verification_verificationlink_change", args=[link.pk]),
        {"email_address": "x@y.z"},
    )
    link.refresh_from_db()
    assert link.email_address == "someone@example.com"


def test_admin_is_for_staff_only(owner_client: Client) -> None:
    response = owner_client.get(reverse("admin:verification_verificationlink_changelist"))
    assert response.status_code == 302
