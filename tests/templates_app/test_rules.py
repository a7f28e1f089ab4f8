"""templates_app.rules: SES's template rules, each with its exact message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account, Region
from identities.models import Identity
from identities.validators import AlreadyExistsError, LimitExceededError
from templates_app import rules
from templates_app.models import MAX_TEMPLATES_PER_REGION, CustomVerificationEmailTemplate

GOOD = {
    "name": "Welcome",
    "from_email_address": "noreply@example.com",
    "subject": "Please confirm your email address",
    "content": "<html><body><p>Hello</p></body></html>",
    "success_redirection_url": "https://www.example.com/ok",
    "failure_redirection_url": "http://www.example.com/ko",
}


@pytest.fixture
def verified_domain(make_domain: Callable[..., Identity]) -> Identity:
    identity = make_domain("example.com")
    identity.mark_verified()
    return identity


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_create_valid_template(account: Account, region: Region, verified_domain: Identity) -> None:
    template = rules.create_template(account, region, **GOOD)
    assert template.name == "Welcome"
    assert (
        template.arn
        == f"arn:aws:ses:us-east-1:{account.pk}:custom-verification-email-template/Welcome"
    )


def test_every_field_problem_is_reported(account: Account, region: Region) -> None:
    with pytest.raises(ValidationError) as exc:
        rules.create_template(
            account, region, name="bad name!", from_email_address="Sender <sender@example.com>",
            subject="line\nbreak", content="<p>Hi<!-- note --></p><a href='x'>y</a>",
            success_redirection_url="javascript:alert(1)", failure_redirection_url="ftp://x.example/",
        )  # fmt: skip
    assert errors_of(exc) == {
        "name": [
            "“bad name!” is not a valid template name. Use 1–64 letters, digits, underscores and hyphens."
        ],
        "from_email_address": [
            'The From address can\'t have a display name ("friendly from"). Enter the address '
            "alone, for example sender@example.com, not Sender <sender@example.com>."
        ],
        "subject": ["The subject must be a single line. Remove the line breaks."],
        # The content (up to 10 MB to parse) is read only once every cheap field is right.
        "success_redirection_url": [
            "The success redirection URL must be a full http:// or https:// address, for example https://www.example.com/verified."
        ],
        "failure_redirection_url": [
            "The failure redirection URL must be a full http:// or https:// address, for example https://www.example.com/verified."
        ],
    }


def test_content_problems_are_reported_once_the_other_fields_are_right(
    account: Account, region: Region, make_email: Callable[..., Identity]
) -> None:
    make_email("noreply@example.com").mark_verified()
    with pytest.raises(ValidationError) as exc:
        rules.create_template(
            account, region, **{**GOOD, "content": "<p>Hi<!-- note --></p><a href='x'>y</a>"}
        )
    assert errors_of(exc) == {
        "content": [
            "Line 1, column 6: Comments are not allowed in custom verification email templates. Remove the comment.",
            "Line 1, column 23: The <a> tag is not allowed in custom verification email templates. "
            "SES adds the verification link to the end of the message itself, so a template can't "
            "contain links. Remove the <a> tag and keep its text.",
        ],
    }


def test_from_address_must_be_verified(
    account: Account, region: Region, make_email: Callable[..., Identity]
) -> None:
    make_email("noreply@example.com")  # pending, so it doesn't count
    with pytest.raises(ValidationError) as exc:
        rules.create_template(account, region, **GOOD)
    assert errors_of(exc) == {
        "from_email_address": [
            "noreply@example.com is not verified in us-east-1. Verify the address, or a domain it "
            "belongs to, in Verified identities first."
        ]
    }


def test_from_address_verified_as_an_address_with_label(
    account: Account, region: Region, make_email: Callable[..., Identity]
) -> None:
    make_email("noreply@example.com").mark_verified()
    rules.create_template(
        account, region, **{**GOOD, "from_email_address": "noreply+v@example.com"}
    )


def test_name_is_unique_per_account_and_region(
    account: Account, region: Region, verified_domain: Identity, make_template: Callable[..., Any]
) -> None:
    make_template("Welcome")
    with pytest.raises(AlreadyExistsError) as exc:
        rules.create_template(account, region, **GOOD)
    assert exc.value.messages == [
        "A custom verification email template named Welcome already exists in us-east-1. Choose "
        "another name, or edit the existing template."
    ]


def test_at_most_50_templates_per_region(
    account: Account, region: Region, verified_domain: Identity, make_template: Callable[..., Any]
) -> None:
    for n in range(MAX_TEMPLATES_PER_REGION):
        make_template(f"t{n}")
    with pytest.raises(LimitExceededError) as exc:
        rules.create_template(account, region, **GOOD)
    assert exc.value.messages == [
        "This account already has 50 custom verification email templates in us-east-1, the most "
        "SES allows. Delete a template you no longer use first."
    ]


def test_content_must_be_under_10_mb(
    account: Account, region: Region, verified_domain: Identity
) -> None:
    with pytest.raises(ValidationError) as exc:
        rules.create_template(
            account, region, **{**GOOD, "content": "<p>" + "x" * (10 * 1024 * 1024) + "</p>"}
        )
    [message] = errors_of(exc)["content"]
    assert message.startswith(
        "Line 1, column 1: The template is 10,485,767 bytes; custom verification email templates must be smaller than 10 MB"
    )


def test_update_accepts_any_subset(
    verified_domain: Identity, make_template: Callable[..., CustomVerificationEmailTemplate]
) -> None:
    template = make_template()
    rules.update_template(template, subject="New subject")
    template.refresh_from_db()
    assert (template.subject, template.content) == (
        "New subject",
        "<html><body><h1>Ready to start?</h1><p>Click below.</p></body></html>",
    )
    with pytest.raises(ValidationError) as exc:
        rules.update_template(template, success_redirection_url="mailto:a@example.com")
    assert list(errors_of(exc)) == ["success_redirection_url"]


def test_update_rename_to_a_taken_name(
    verified_domain: Identity, make_template: Callable[..., CustomVerificationEmailTemplate]
) -> None:
    make_template("A")
    template = make_template("B")
    with pytest.raises(AlreadyExistsError):
        rules.update_template(template, name="A")
    rules.update_template(template, name="B")  # its own name is fine


def test_other_accounts_templates_do_not_count(
    other_account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
    make_template: Callable[..., Any],
) -> None:
    make_template("Welcome")
    make_domain("example.com", acct=other_account).mark_verified()
    rules.create_template(other_account, region, **GOOD)
