"""SES's rules for custom verification email templates, in one place for the console and the API.

Field rules (each raises ValidationError with a message saying what to fix): the name, a From
address that is verified (or on a verified domain) and has no display name, a one-line
subject, content under 10 MB using only the HTML allowlist and no comments, http(s)
redirection URLs. Resource rules: unique name per account and region, at most 50 templates.

`create_template` and `update_template` are what the API calls; the console's form calls
`clean_template` in its clean() and `save_template` in the view, so both validate the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from accounts.models import Account, Region
from identities.hierarchy import applicable_identity
from identities.models import Tag
from sesconsole import validators

from . import html_rules
from .models import MAX_TEMPLATES_PER_REGION, CustomVerificationEmailTemplate

FIELDS = (
    "name",
    "from_email_address",
    "subject",
    "content",
    "success_redirection_url",
    "failure_redirection_url",
)
# The SES API field name of each model field, for messages the API shows.
API_NAMES = {
    "name": "TemplateName",
    "from_email_address": "FromEmailAddress",
    "subject": "TemplateSubject",
    "content": "TemplateContent",
    "success_redirection_url": "SuccessRedirectionURL",
    "failure_redirection_url": "FailureRedirectionURL",
}
_http_url = URLValidator(schemes=["http", "https"])


# --- fields -----------------------------------------------------------------------------------
def validate_name(value: str) -> str:
    return validators.validate_resource_name((value or "").strip(), "template")


def validate_from_email_address(account: Account, region: Region, value: str) -> str:
    """Verified (or on a verified domain) in this account and region; no display name."""
    raw = (value or "").strip()
    if "<" in raw or ">" in raw or '"' in raw:
        raise ValidationError(
            'The From address can\'t have a display name ("friendly from"). Enter the address '
            "alone, for example sender@example.com, not Sender <sender@example.com>.",
            code="display_name",
        )
    address = validators.normalize_email(raw)
    if applicable_identity(account, region, address) is None:
        raise ValidationError(
            f"{address} is not verified in {region.code}. Verify the address, or a domain it "
            "belongs to, in Verified identities first.",
            code="not_verified",
        )
    return address


def validate_subject(value: str) -> str:
    subject = (value or "").strip()
    if not subject:
        raise ValidationError("Enter the subject line of the verification email.", code="required")
    if "\r" in subject or "\n" in subject:
        raise ValidationError(
            "The subject must be a single line. Remove the line breaks.", code="invalid"
        )
    control = next((char for char in subject if _is_control(char)), None)
    if control is not None:
        raise ValidationError(
            f"The subject contains the control character U+{ord(control):04X} at position "
            f"{subject.index(control) + 1}; a mail header can't carry it. Remove it (tabs, "
            "form feeds and separators included) and keep plain text.",
            code="invalid",
        )
    if len(subject) > 998:
        raise ValidationError(
            f"The subject is {len(subject):,} characters long; an email subject line can have "
            "at most 998.",
            code="invalid",
        )
    return subject


def _is_control(char: str) -> bool:
    # Cc: C0 and C1 controls and DEL; Zl/Zp: line and paragraph separators. Python's header
    # code splits lines at \x0b, \x0c, \x1c-\x1e, \x85 and U+2028/9 (str.splitlines), so
    # the verification mail would fail to build with such a subject.
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def validate_content(value: str) -> str:
    """Under 10 MB, only the SES allowlist's tags and attributes, no comments (FAQ Q5)."""
    content = value or ""
    if not content.strip():
        raise ValidationError(
            "Enter the content (HTML) of the verification email.", code="required"
        )
    problems = html_rules.find_html_problems(content)
    if problems:
        raise ValidationError([str(problem) for problem in problems], code="html")
    return content


def validate_redirection_url(value: str, label: str) -> str:
    url = (value or "").strip()
    if not url:
        raise ValidationError(
            f"Enter the {label}, an http:// or https:// address.", code="required"
        )
    try:
        _http_url(url)
    except ValidationError as exc:
        raise ValidationError(
            f"The {label} must be a full http:// or https:// address, for example "
            "https://www.example.com/verified.",
            code="invalid",
        ) from exc
    return url


def clean_template(
    account: Account,
    region: Region,
    data: Mapping[str, Any],
    *,
    instance: CustomVerificationEmailTemplate | None = None,
) -> dict[str, str]:
    """Validate the given fields (all for a new template, any subset for an update).

    Returns the normalised values. Raises ValidationError({field: [messages]}) listing every
    field problem; then AlreadyExistsError (name taken) or LimitExceededError (a new template
    beyond 50), both ValidationError subclasses carrying a single message.
    """
    given = {field: data[field] for field in FIELDS if field in data and data[field] is not None}
    cleaners = {
        "name": validate_name,
        "from_email_address": lambda v: validate_from_email_address(account, region, v),
        "subject": validate_subject,
        "content": validate_content,
        "success_redirection_url": lambda v: validate_redirection_url(v, "success redirection URL"),
        "failure_redirection_url": lambda v: validate_redirection_url(v, "failure redirection URL"),
    }
    if instance is None:
        for field in FIELDS:
            given.setdefault(field, "")
    cleaned: dict[str, str] = {}
    errors: dict[str, list[ValidationError]] = {}
    # The cheap fields first (From verified, subject, ...): the content, up to 10 MB of HTML to
    # parse, is only read when everything else is right.
    for field in sorted(given, key=lambda name: name == "content"):
        if field == "content" and errors:
            break
        try:
            cleaned[field] = cleaners[field](given[field])
        except ValidationError as exc:
            errors[field] = exc.error_list
    if errors:
        raise ValidationError(errors)
    # After the field rules, so the API's AlreadyExistsError is only raised for valid input.
    if "name" in cleaned and _name_taken(account, region, cleaned["name"], instance):
        raise _already_exists(cleaned["name"], region)
    if instance is None:
        check_template_limit(account, region)
    return cleaned


def _name_taken(
    account: Account, region: Region, name: str, instance: CustomVerificationEmailTemplate | None
) -> bool:
    others = CustomVerificationEmailTemplate.objects.filter(
        account=account, region=region, name=name
    )
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    return others.exists()


def _already_exists(name: str, region: Region) -> validators.AlreadyExistsError:
    return validators.AlreadyExistsError(
        f"A custom verification email template named {name} already exists in {region.code}. "
        "Choose another name, or edit the existing template.",
        code="already_exists",
    )


def check_template_limit(account: Account, region: Region) -> None:
    count = CustomVerificationEmailTemplate.objects.filter(account=account, region=region).count()
    if count >= MAX_TEMPLATES_PER_REGION:
        raise validators.LimitExceededError(
            f"This account already has {MAX_TEMPLATES_PER_REGION} custom verification email "
            f"templates in {region.code}, the most SES allows. Delete a template you no longer "
            "use first.",
            code="limit",
        )


# --- saving -----------------------------------------------------------------------------------
def save_template(
    account: Account,
    region: Region,
    cleaned: Mapping[str, str],
    *,
    instance: CustomVerificationEmailTemplate | None = None,
) -> CustomVerificationEmailTemplate:
    """Save values from clean_template. The limit and name are checked again under the
    account's lock, so two concurrent creates can't make 51."""
    try:
        with transaction.atomic():
            account.lock()
            if instance is None:
                check_template_limit(account, region)
                template = CustomVerificationEmailTemplate(
                    account=account, region=region, **cleaned
                )
                template.save()
                return template
            for field, value in cleaned.items():
                setattr(instance, field, value)
            instance.save(update_fields=[*cleaned, "updated_at"])
            return instance
    except IntegrityError as exc:
        raise _already_exists(cleaned.get("name", ""), region) from exc


def create_template(
    account: Account, region: Region, **fields: str
) -> CustomVerificationEmailTemplate:
    """CreateCustomVerificationEmailTemplate: every field is required."""
    return save_template(account, region, clean_template(account, region, fields))


def update_template(
    template: CustomVerificationEmailTemplate, **fields: str
) -> CustomVerificationEmailTemplate:
    """UpdateCustomVerificationEmailTemplate: any subset of the fields."""
    account, region = template.account, template.region
    cleaned = clean_template(account, region, fields, instance=template)
    return save_template(account, region, cleaned, instance=template)


def get_template(account: Account, region: Region, name: str) -> CustomVerificationEmailTemplate:
    """The account's template of that name in the region: the one lookup (and not-found
    message) of the console, the API and SendCustomVerificationEmail."""
    template = CustomVerificationEmailTemplate.objects.filter(
        account=account, region=region, name=name
    ).first()
    if template is None:
        raise validators.NotFoundError(
            f"There is no custom verification email template named {name} in {region.code}. "
            "Check the name, or create the template first.",
            code="not_found",
        )
    return template


def set_tags(
    template: CustomVerificationEmailTemplate, pairs: Sequence[tuple[str, str]]
) -> list[validators.TagPair]:
    """Replace the template's tags (at most 50, unique keys; the console's Manage tags)."""
    tags = validators.validate_tags(list(pairs))
    with transaction.atomic():
        template.tags.all().delete()
        Tag.objects.bulk_create([Tag(template=template, key=t.key, value=t.value) for t in tags])
    return tags


def delete_template(template: CustomVerificationEmailTemplate) -> None:
    template.delete()
