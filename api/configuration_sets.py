"""Configuration set operations: create, get, list, delete.

sesconsole does not send mail through configuration sets yet, so their options are stored as
the client sent them (after the model check in `api.shapes`) and answered back by
GetConfigurationSet, over SES's defaults for a new set.
"""

from __future__ import annotations

from typing import Any

from identities import provisioning
from identities.models import ConfigurationSet
from sesconsole import validators

from .errors import not_found
from .pagination import keyset_page, list_scope, page_size
from .wire import Call, path_value, query_value

OPTION_MEMBERS = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "SuppressionOptions",
    "VdmOptions",
    "ArchivingOptions",
    "MessageSecurityOptions",
)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def find_configuration_set(call: Call, raw_name: str) -> ConfigurationSet:
    name = path_value(raw_name, "ConfigurationSetName")
    found = ConfigurationSet.objects.filter(
        account=call.account, region=call.region, name=name
    ).first()
    if found is None:
        raise not_found(f"Configuration set {name} does not exist in {call.region.code}.")
    return found


def create_configuration_set(call: Call) -> dict[str, Any]:
    body = call.body
    name = validators.validate_configuration_set_name(body["ConfigurationSetName"])
    tags = validators.validate_tags([(tag["Key"], tag["Value"]) for tag in body.get("Tags", [])])
    options = {member: body[member] for member in OPTION_MEMBERS if member in body}
    sending_enabled = options.get("SendingOptions", {}).get("SendingEnabled", True)
    provisioning.create_configuration_set(
        call.account,
        call.region,
        name,
        sending_enabled=sending_enabled,
        options=options,
        tags=tags,
    )
    return {}


def get_configuration_set(call: Call, configuration_set_name: str) -> dict[str, Any]:
    configuration_set = find_configuration_set(call, configuration_set_name)
    options = dict(configuration_set.options)
    tags = configuration_set.tags.values_list("key", "value")
    # What SES answers for a set created with no options; stored options replace these.
    return {
        "ConfigurationSetName": configuration_set.name,
        "DeliveryOptions": options.get("DeliveryOptions", {"TlsPolicy": "OPTIONAL"}),
        "ReputationOptions": options.get("ReputationOptions", {"ReputationMetricsEnabled": False}),
        **{
            member: options[member]
            for member in OPTION_MEMBERS
            if member in options and member not in ("DeliveryOptions", "ReputationOptions")
        },
        "SendingOptions": {"SendingEnabled": configuration_set.sending_enabled},
        "Tags": [{"Key": key, "Value": value} for key, value in tags],
    }


def list_configuration_sets_query(call: Call) -> dict[str, Any]:
    """The GET form older clients send (aws-cli v1's bundled model)."""
    return _list(call, call.query.get("PageSize"), query_value(call, "NextToken"), {})


def list_configuration_sets(call: Call) -> dict[str, Any]:
    """POST /v2/email/list-configuration-sets (current botocore), with an optional Filter."""
    body = call.body
    return _list(call, body.get("PageSize"), body.get("NextToken"), body.get("Filter", {}))


def _list(call: Call, raw_size: Any, token: str | None, filters: dict[str, str]) -> dict[str, Any]:
    size = page_size(raw_size, default=DEFAULT_PAGE_SIZE, low=0, high=MAX_PAGE_SIZE)
    queryset = ConfigurationSet.objects.filter(account=call.account, region=call.region)
    if "CONFIGURATION_SET_NAME_CONTAINS" in filters:
        queryset = queryset.filter(name__icontains=filters["CONFIGURATION_SET_NAME_CONTAINS"])
    names, next_token = keyset_page(
        queryset.values_list("name", flat=True),
        scope=list_scope(call, "configuration-sets"),
        token=token,
        size=size,
        name_of=str,
    )
    result: dict[str, Any] = {"ConfigurationSets": list(names)}
    if next_token:
        result["NextToken"] = next_token
    return result


def delete_configuration_set(call: Call, configuration_set_name: str) -> dict[str, Any]:
    # Identities keep the name as their default (SES does too); the console shows the dangling
    # reference.
    find_configuration_set(call, configuration_set_name).delete()
    return {}
