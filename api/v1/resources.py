"""SES v1 custom verification email template and configuration set actions.

The same resources as the v2 API (one store per account and region): templates go through
`templates_app.rules` and `verification.flows`, configuration sets through
`identities.provisioning`, with the v1 error codes the model declares (ses-v1-api.md §4.7–4.8).

UNVERIFIED choices (ses-v1-api.md §7): deleting a missing template succeeds; DescribeConfigurationSet
returns only the attribute groups asked for; a v1 configuration set's options are the v2 set's
(TlsPolicy `REQUIRE` is `Require`), and sesconsole has no event destinations, so that group is
always empty; ListConfigurationSets pages hold up to 1,000 names, by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from api.pagination import keyset_page, list_scope
from api.templates import model_fields, template_summary, validation_message
from api.wire import Call
from identities import provisioning
from identities.models import ConfigurationSet
from sesconsole import validators
from templates_app import rules
from templates_app.models import CustomVerificationEmailTemplate

from .errors import (
    QueryError,
    configuration_set_does_not_exist,
    from_v2,
    invalid_parameter,
    template_does_not_exist,
)

MAX_TEMPLATES_PAGE = 50
MAX_CONFIGURATION_SETS_PAGE = 1000


# --- custom verification email templates ------------------------------------------------------
def _template_error(exc: ValidationError, body: dict[str, Any]) -> QueryError:
    """The v1 code for a template rule's refusal (rules.clean_template / save_template)."""
    name = str(body.get("TemplateName", ""))
    if isinstance(exc, validators.AlreadyExistsError):
        return QueryError(
            "CustomVerificationEmailTemplateAlreadyExists",
            " ".join(exc.messages),
            extra={"CustomVerificationEmailTemplateName": name},
        )
    codes = {
        (field, error.code)
        for field, errors in getattr(exc, "error_dict", {}).items()
        for error in errors
    }
    message = " ".join(validation_message(exc).messages)
    if ("from_email_address", "not_verified") in codes:
        return QueryError(
            "FromEmailAddressNotVerified",
            message,
            extra={"FromEmailAddress": str(body.get("FromEmailAddress", ""))},
        )
    if any(field == "content" for field, _ in codes):
        return QueryError("CustomVerificationEmailInvalidContent", message)
    return from_v2(validation_message(exc)) if codes else from_v2(exc)


def _template(call: Call, name: str) -> CustomVerificationEmailTemplate:
    template = CustomVerificationEmailTemplate.objects.filter(
        account=call.account, region=call.region, name=name
    ).first()
    if template is None:
        raise template_does_not_exist(name)
    return template


def create_custom_verification_email_template(call: Call) -> None:
    try:
        cleaned = rules.clean_template(call.account, call.region, model_fields(call.body))
        rules.save_template(call.account, call.region, cleaned)
    except ValidationError as exc:
        raise _template_error(exc, call.body) from None


def update_custom_verification_email_template(call: Call) -> None:
    template = _template(call, call.body["TemplateName"])
    fields = {k: v for k, v in model_fields(call.body).items() if k != "name"}
    try:
        rules.update_template(template, **fields)
    except ValidationError as exc:
        raise _template_error(exc, call.body) from None


def get_custom_verification_email_template(call: Call) -> dict[str, Any]:
    template = _template(call, call.body["TemplateName"])
    return {**template_summary(template), "TemplateContent": template.content}


def list_custom_verification_email_templates(call: Call) -> dict[str, Any]:
    size = call.body.get("MaxResults", MAX_TEMPLATES_PAGE)  # brought into 1-50 (query.CLAMPED)
    templates, next_token = keyset_page(
        CustomVerificationEmailTemplate.objects.filter(account=call.account, region=call.region),
        scope=list_scope(call, "custom-verification-email-templates"),
        token=call.body.get("NextToken"),
        size=size,
        name_of=lambda template: template.name,
    )
    return {
        "CustomVerificationEmailTemplates": [template_summary(t) for t in templates],
        "NextToken": next_token,
    }


def delete_custom_verification_email_template(call: Call) -> None:
    CustomVerificationEmailTemplate.objects.filter(
        account=call.account, region=call.region, name=call.body["TemplateName"]
    ).delete()


def send_custom_verification_email(call: Call) -> dict[str, Any]:
    from verification import flows  # the verification app sits above identities and templates

    body = call.body
    name = body["TemplateName"]
    configuration_set = body.get("ConfigurationSetName", "")
    try:
        message_id = flows.send_custom_verification_email(
            call.account,
            call.region,
            email_address=body["EmailAddress"],
            template_name=name,
            configuration_set_name=configuration_set,
        )
    except flows.ProductionAccessNotGrantedError as exc:
        raise QueryError("ProductionAccessNotGranted", " ".join(exc.messages)) from None
    except flows.MessageRejectedError as exc:
        # The template's From address is not verified (the only rejection flows makes).
        raise QueryError(
            "FromEmailAddressNotVerified",
            " ".join(exc.messages),
            extra={"FromEmailAddress": _template(call, name).from_email_address},
        ) from None
    except validators.NotFoundError:
        _template(call, name)  # raises if the template is what is missing
        raise configuration_set_does_not_exist(configuration_set) from None
    return {"MessageId": message_id}


# --- configuration sets -----------------------------------------------------------------------
def _configuration_set(call: Call, name: str) -> ConfigurationSet:
    found = ConfigurationSet.objects.filter(
        account=call.account, region=call.region, name=name
    ).first()
    if found is None:
        raise configuration_set_does_not_exist(name)
    return found


def create_configuration_set(call: Call) -> dict[str, Any]:
    given = call.body["ConfigurationSet"]["Name"]
    try:
        name = validators.validate_configuration_set_name(given)
    except ValidationError as exc:
        raise QueryError("InvalidConfigurationSet", " ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            provisioning.create_configuration_set(call.account, call.region, name)
    except validators.AlreadyExistsError as exc:
        raise QueryError(
            "ConfigurationSetAlreadyExists",
            " ".join(exc.messages),
            extra={"ConfigurationSetName": name},
        ) from None
    return {}


def describe_configuration_set(call: Call) -> dict[str, Any]:
    configuration_set = _configuration_set(call, call.body["ConfigurationSetName"])
    wanted = set(call.body.get("ConfigurationSetAttributeNames", []))
    options = configuration_set.options
    result: dict[str, Any] = {"ConfigurationSet": {"Name": configuration_set.name}}
    if "eventDestinations" in wanted:
        result["EventDestinations"] = []
    if "trackingOptions" in wanted and "TrackingOptions" in options:
        result["TrackingOptions"] = options["TrackingOptions"]
    if "deliveryOptions" in wanted:
        policy = options.get("DeliveryOptions", {}).get("TlsPolicy", "OPTIONAL")
        result["DeliveryOptions"] = {"TlsPolicy": policy.capitalize()}
    if "reputationOptions" in wanted:
        reputation = options.get("ReputationOptions", {})
        fresh_start = reputation.get("LastFreshStart")
        result["ReputationOptions"] = {
            "SendingEnabled": configuration_set.sending_enabled,
            "ReputationMetricsEnabled": reputation.get("ReputationMetricsEnabled", False),
            "LastFreshStart": datetime.fromtimestamp(fresh_start, UTC) if fresh_start else None,
        }
    return result


def list_configuration_sets(call: Call) -> dict[str, Any]:
    size = call.body.get("MaxItems", MAX_CONFIGURATION_SETS_PAGE)
    if size < 1:
        raise invalid_parameter(f"MaxItems must be at least 1; it is {size}.")
    names, next_token = keyset_page(
        ConfigurationSet.objects.filter(account=call.account, region=call.region).values_list(
            "name", flat=True
        ),
        scope=list_scope(call, "configuration-sets"),
        token=call.body.get("NextToken"),
        size=min(size, MAX_CONFIGURATION_SETS_PAGE),
        name_of=str,
    )
    return {"ConfigurationSets": [{"Name": name} for name in names], "NextToken": next_token}


def delete_configuration_set(call: Call) -> dict[str, Any]:
    _configuration_set(call, call.body["ConfigurationSetName"]).delete()
    return {}


ACTIONS: dict[str, Callable[[Call], dict[str, Any] | None]] = {
    "CreateCustomVerificationEmailTemplate": create_custom_verification_email_template,
    "GetCustomVerificationEmailTemplate": get_custom_verification_email_template,
    "ListCustomVerificationEmailTemplates": list_custom_verification_email_templates,
    "UpdateCustomVerificationEmailTemplate": update_custom_verification_email_template,
    "DeleteCustomVerificationEmailTemplate": delete_custom_verification_email_template,
    "SendCustomVerificationEmail": send_custom_verification_email,
    "CreateConfigurationSet": create_configuration_set,
    "DescribeConfigurationSet": describe_configuration_set,
    "ListConfigurationSets": list_configuration_sets,
    "DeleteConfigurationSet": delete_configuration_set,
}
