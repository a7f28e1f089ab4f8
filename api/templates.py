"""Custom verification email templates (create, get, list, update, delete) and
SendCustomVerificationEmail.

Template HTML is checked by `templates_app.html_rules` and the From address by
`identities.hierarchy` (the same "which identity applies?" lookup the console uses).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from accounts.models import Account, Region
from identities import hierarchy, validators
from identities.models import Tag
from templates_app.html_rules import TemplateHtmlError, validate_template_html
from templates_app.models import MAX_TEMPLATES_PER_REGION, CustomVerificationEmailTemplate

from .errors import ApiError, already_exists, bad_request, limit_exceeded, not_found
from .pagination import keyset_page, list_scope, page_size
from .wire import Call, path_value, query_value

TEMPLATE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
MAX_SUBJECT_LENGTH = 998
MAX_URL_LENGTH = 2000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 50
FIELDS = {
    "FromEmailAddress": "from_email_address",
    "TemplateSubject": "subject",
    "TemplateContent": "content",
    "SuccessRedirectionURL": "success_redirection_url",
    "FailureRedirectionURL": "failure_redirection_url",
}
_http_url = URLValidator(schemes=["http", "https"])


# --- field rules ------------------------------------------------------------------------------
def _template_name(value: str) -> str:
    if not TEMPLATE_NAME_PATTERN.match(value):
        raise bad_request(
            f"“{value[:70]}” is not a valid template name. Use 1–64 letters, digits, "
            "underscores and hyphens."
        )
    return value


def _from_address(account: Account, region: Region, value: str) -> str:
    address = validators.normalize_email(value)  # refuses display names, as SES does
    if hierarchy.applicable_identity(account, region, address) is None:
        raise bad_request(
            f"The From address {address} is not verified in {region.code}. Verify the address, "
            "or a domain it belongs to, before using it in a custom verification template."
        )
    return address


def _subject(value: str) -> str:
    if not value.strip():
        raise bad_request("Enter a subject for the verification email (TemplateSubject).")
    if "\r" in value or "\n" in value:
        raise bad_request("TemplateSubject must be a single line, without line breaks.")
    if len(value) > MAX_SUBJECT_LENGTH:
        raise bad_request(
            f"TemplateSubject is {len(value)} characters long; a subject can have at most "
            f"{MAX_SUBJECT_LENGTH}."
        )
    return value


def _content(value: str) -> str:
    if not value.strip():
        raise bad_request("Enter the HTML body of the verification email (TemplateContent).")
    try:
        validate_template_html(value)
    except TemplateHtmlError as exc:
        problems = " ".join(str(problem) for problem in exc.problems)
        raise bad_request(f"TemplateContent breaks the SES template rules. {problems}") from None
    return value


def _url(value: str, member: str) -> str:
    try:
        if len(value) > MAX_URL_LENGTH:
            raise ValidationError("too long")
        _http_url(value)
    except ValidationError:
        raise bad_request(
            f"{member} must be an http:// or https:// URL of at most {MAX_URL_LENGTH} characters."
        ) from None
    return value


def _clean_fields(call: Call, body: dict[str, Any]) -> dict[str, str]:
    """Validate whichever of the five template fields `body` has; return model field values."""
    cleaners = {
        "FromEmailAddress": lambda v: _from_address(call.account, call.region, v),
        "TemplateSubject": _subject,
        "TemplateContent": _content,
        "SuccessRedirectionURL": lambda v: _url(v, "SuccessRedirectionURL"),
        "FailureRedirectionURL": lambda v: _url(v, "FailureRedirectionURL"),
    }
    return {FIELDS[member]: cleaners[member](body[member]) for member in FIELDS if member in body}


def find_template(call: Call, raw_name: str) -> CustomVerificationEmailTemplate:
    name = path_value(raw_name, "TemplateName")
    template = CustomVerificationEmailTemplate.objects.filter(
        account=call.account, region=call.region, name=name
    ).first()
    if template is None:
        raise not_found(
            f"Custom verification email template {name} does not exist in {call.region.code}."
        )
    return template


# --- operations -----------------------------------------------------------------------------
def create_template(call: Call) -> dict[str, Any]:
    body = call.body
    name = _template_name(body["TemplateName"])
    fields = _clean_fields(call, body)
    tags = validators.validate_tags([(tag["Key"], tag["Value"]) for tag in body.get("Tags", [])])
    templates = CustomVerificationEmailTemplate.objects.filter(
        account=call.account, region=call.region
    )
    if templates.filter(name=name).exists():
        raise already_exists(f"Custom verification email template {name} already exists.")
    if templates.count() >= MAX_TEMPLATES_PER_REGION:
        raise limit_exceeded(
            f"This account already has {MAX_TEMPLATES_PER_REGION} custom verification email "
            f"templates in {call.region.code}, the most SES allows. Delete one first."
        )
    try:
        with transaction.atomic():
            template = CustomVerificationEmailTemplate.objects.create(
                account=call.account, region=call.region, name=name, **fields
            )
            Tag.objects.bulk_create(
                [Tag(template=template, key=t.key, value=t.value) for t in tags]
            )
    except IntegrityError:
        raise already_exists(f"Custom verification email template {name} already exists.") from None
    return {}


def get_template(call: Call, template_name: str) -> dict[str, Any]:
    template = find_template(call, template_name)
    return {
        "TemplateName": template.name,
        "FromEmailAddress": template.from_email_address,
        "TemplateSubject": template.subject,
        "TemplateContent": template.content,
        "Tags": [{"Key": k, "Value": v} for k, v in template.tags.values_list("key", "value")],
        "SuccessRedirectionURL": template.success_redirection_url,
        "FailureRedirectionURL": template.failure_redirection_url,
    }


def list_templates(call: Call) -> dict[str, Any]:
    size = page_size(
        call.query.get("PageSize"), default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE
    )
    queryset = CustomVerificationEmailTemplate.objects.filter(
        account=call.account, region=call.region
    ).only(
        "name",
        "from_email_address",
        "subject",
        "success_redirection_url",
        "failure_redirection_url",
    )
    templates, next_token = keyset_page(
        queryset,
        scope=list_scope(call, "custom-verification-email-templates"),
        token=query_value(call, "NextToken"),
        size=size,
        name_of=lambda template: template.name,
    )
    result: dict[str, Any] = {
        "CustomVerificationEmailTemplates": [
            {
                "TemplateName": t.name,
                "FromEmailAddress": t.from_email_address,
                "TemplateSubject": t.subject,
                "SuccessRedirectionURL": t.success_redirection_url,
                "FailureRedirectionURL": t.failure_redirection_url,
            }
            for t in templates
        ]
    }
    if next_token:
        result["NextToken"] = next_token
    return result


def update_template(call: Call, template_name: str) -> dict[str, Any]:
    """Overwrite the fields given; botocore requires all five, the SES guide says none are."""
    template = find_template(call, template_name)
    fields = _clean_fields(call, call.body)
    for field, value in fields.items():
        setattr(template, field, value)
    if fields:
        template.save(update_fields=[*fields, "updated_at"])
    return {}


def delete_template(call: Call, template_name: str) -> dict[str, Any]:
    find_template(call, template_name).delete()
    return {}


# --- SendCustomVerificationEmail --------------------------------------------------------------
def send_custom_verification_email(call: Call) -> dict[str, Any]:
    """Delegate to the verification app, which owns the rules (production access, template,
    configuration set, verified From address, once per second) and queues the mail.

    SES's ProductionAccessNotGranted is not declared in the v2 model; it is answered as
    MessageRejected, a declared 400, with the SES wording.
    """
    from verification import flows  # the verification app imports identities and templates

    body = call.body
    try:
        message_id = flows.send_custom_verification_email(
            call.account,
            call.region,
            email_address=body["EmailAddress"],
            template_name=path_value(body["TemplateName"], "TemplateName"),
            configuration_set_name=body.get("ConfigurationSetName", ""),
        )
    except (flows.ProductionAccessNotGrantedError, flows.MessageRejectedError) as exc:
        raise ApiError("MessageRejected", " ".join(exc.messages)) from None
    except flows.TooManyRequestsError as exc:
        raise ApiError("TooManyRequestsException", " ".join(exc.messages)) from None
    return {"MessageId": message_id}
