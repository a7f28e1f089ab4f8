"""Custom verification email templates (create, get, list, update, delete) and
SendCustomVerificationEmail.

The field rules, the 50-template limit and saving live in `templates_app.rules`, shared with
the console; sending lives in `verification.flows`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from identities import validators
from identities.models import Tag
from templates_app import rules
from templates_app.models import CustomVerificationEmailTemplate
from verification import flows

from .errors import ApiError, not_found
from .pagination import keyset_page, list_scope, page_size
from .wire import Call, path_value, query_value

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 50


def _model_fields(body: dict[str, Any]) -> dict[str, str]:
    """The template members of an API body, under the model's field names."""
    by_api_name = {api: field for field, api in rules.API_NAMES.items()}
    return {by_api_name[member]: value for member, value in body.items() if member in by_api_name}


def _validation_message(exc: ValidationError) -> ValidationError:
    """Name the API member in each field problem, so the message says which one is wrong."""
    if not hasattr(exc, "error_dict"):
        return exc
    parts = [
        f"{rules.API_NAMES.get(field, field)}: {' '.join(ValidationError(errors).messages)}"
        for field, errors in exc.error_dict.items()
    ]
    return ValidationError(" ".join(parts))


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
    tags = validators.validate_tags([(tag["Key"], tag["Value"]) for tag in body.get("Tags", [])])
    try:
        cleaned = rules.clean_template(call.account, call.region, _model_fields(body))
    except ValidationError as exc:
        raise _validation_message(exc) from None
    with transaction.atomic():
        template = rules.save_template(call.account, call.region, cleaned)
        Tag.objects.bulk_create([Tag(template=template, key=t.key, value=t.value) for t in tags])
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
    fields = {k: v for k, v in _model_fields(call.body).items() if k != "name"}
    try:
        rules.update_template(template, **fields)
    except ValidationError as exc:
        raise _validation_message(exc) from None
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
