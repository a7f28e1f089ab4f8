"""TagResource, UntagResource and ListTagsForResource, by ARN.

An identity's tags change through `identities.operations` (its rules and history); configuration
sets' and templates' tags directly here. ARNs look like `arn:aws:ses:<region>:<account>:<type>/<name>` for identities, configuration
sets and custom verification templates. An ARN of another account or region is answered
exactly like a missing resource (NotFoundException), so no other tenant's names leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from identities import operations, validators
from identities.models import ConfigurationSet, Identity, Tag
from templates_app.models import CustomVerificationEmailTemplate

from .errors import bad_request, not_found
from .shapes import check_text
from .wire import Call, query_value


@dataclass(frozen=True)
class TaggedResource:
    """The resource an ARN names, and how Tag rows point at it."""

    arn: str
    instance: models.Model
    tag_filter: dict[str, Any]


RESOURCE_TYPES: dict[str, tuple[type[models.Model], str]] = {
    # ARN resource type: (model, Tag's foreign key to it)
    "identity": (Identity, "identity"),
    "configuration-set": (ConfigurationSet, "configuration_set"),
    "custom-verification-email-template": (CustomVerificationEmailTemplate, "template"),
}


def resolve_arn(call: Call, arn: str) -> TaggedResource:
    check_text(arn, "ResourceArn")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "ses" or "/" not in parts[5]:
        raise bad_request(
            f"“{arn[:200]}” is not a valid SES ARN. Use arn:aws:ses:<region>:<account>:"
            "identity/<name> (or configuration-set/<name>, "
            "custom-verification-email-template/<name>)."
        )
    _, partition, _, region, account, resource = parts
    kind, _, name = resource.partition("/")
    if kind not in RESOURCE_TYPES:
        raise bad_request(
            f"Tags are supported on identities, configuration sets and custom verification "
            f"email templates; “{kind}” is not one of them."
        )
    missing = not_found(f"The resource {arn[:300]} does not exist.")
    if partition != "aws" or region != call.region.code or account != call.account.pk or not name:
        raise missing
    model, foreign_key = RESOURCE_TYPES[kind]
    # _default_manager is Django's handle for code that works on any of several models.
    instance = model._default_manager.filter(
        account=call.account, region=call.region, name=name
    ).first()
    if instance is None:
        raise missing
    return TaggedResource(arn=arn, instance=instance, tag_filter={foreign_key: instance})


def tag_resource(call: Call) -> dict[str, Any]:
    resource = resolve_arn(call, call.body["ResourceArn"])
    pairs = [(tag["Key"], tag["Value"]) for tag in call.body["Tags"]]
    if isinstance(resource.instance, Identity):
        operations.tag(resource.instance, pairs, actor=call.actor)
        return {}
    existing = Tag.objects.filter(**resource.tag_filter)
    tags = validators.validate_tags(
        pairs, existing_keys=frozenset(existing.values_list("key", flat=True))
    )
    with transaction.atomic():
        # A key that exists already gets the new value, as in AWS's tagging APIs.
        existing.filter(key__in=[tag.key for tag in tags]).delete()
        Tag.objects.bulk_create(
            [Tag(key=tag.key, value=tag.value, **resource.tag_filter) for tag in tags]
        )
    return {}


def untag_resource(call: Call) -> dict[str, Any]:
    resource = resolve_arn(call, query_value(call, "ResourceArn", required=True) or "")
    keys = [check_text(key, "TagKeys") for key in call.query.getlist("TagKeys")]
    if not keys:
        raise bad_request("Give at least one tag key to remove (TagKeys).")
    if isinstance(resource.instance, Identity):
        operations.untag(resource.instance, keys, actor=call.actor)
        return {}
    Tag.objects.filter(key__in=keys, **resource.tag_filter).delete()
    return {}


def list_tags(call: Call) -> dict[str, Any]:
    resource = resolve_arn(call, query_value(call, "ResourceArn", required=True) or "")
    tags = Tag.objects.filter(**resource.tag_filter).order_by("key").values_list("key", "value")
    return {"Tags": [{"Key": key, "Value": value} for key, value in tags]}
