"""SES v1 identity actions: verify, delete, list, the Get*/Set* attribute actions, policies.

v1 and v2 are two views of the same identities: every change here is one of
`identities.operations` (with the API actor of the signing key), the functions the v2 API, the
console and admin call; only the names and words differ (ses-v1-api.md §5):
`Pending|Success|…` for `PENDING|SUCCESS|…`, `UseDefaultValue` for `USE_DEFAULT_VALUE`.

Choices where the spec says UNVERIFIED (ses-v1-api.md §7), made here:
- Verify* on an existing identity succeeds: an unverified address gets its mail again (unless
  one went out within the resend interval), a domain keeps its token and DKIM tokens, and a
  domain whose TXT verification FAILED starts it again;
- DeleteIdentity / DeleteVerifiedEmailAddress of a missing identity succeed;
- ListIdentities: MaxItems 1–1000 (default 1000), ordered by name, an out-of-range value or an
  unknown IdentityType is InvalidParameterValue; ListVerifiedEmailAddresses lists verified
  addresses only;
- Get*Attributes: at most 100 identities (else InvalidParameterValue); keys echo the caller's
  spelling; unknown identities are left out; a domain created through v2 gets a TXT token
  the first time v1 reports it;
- an unknown identity in a Set*/policy action is InvalidParameterValue ("Identity <x> is not
  verified or does not exist."), except SetIdentityHeadersInNotificationsEnabled, where AWS
  answers MessageRejected;
- SetIdentityNotificationTopic needs a verified identity and an SNS topic ARN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from api.pagination import keyset_page, list_scope
from api.wire import Call
from identities import operations, provisioning
from identities.models import (
    BehaviorOnMxFailure,
    Identity,
    IdentityType,
)
from sesconsole import validators

from .errors import QueryError, invalid_parameter

# v2 value -> v1 word (ses-v1-api.md §5)
STATUS = {
    "PENDING": "Pending",
    "SUCCESS": "Success",
    "FAILED": "Failed",
    "TEMPORARY_FAILURE": "TemporaryFailure",
    "NOT_STARTED": "NotStarted",
}
BEHAVIOR: dict[str, str] = {
    BehaviorOnMxFailure.USE_DEFAULT_VALUE: "UseDefaultValue",
    BehaviorOnMxFailure.REJECT_MESSAGE: "RejectMessage",
}
BEHAVIOR_V2 = {word: value for value, word in BEHAVIOR.items()}
IDENTITY_TYPE_V2 = {"EmailAddress": IdentityType.EMAIL_ADDRESS, "Domain": IdentityType.DOMAIN}
MAX_ATTRIBUTE_IDENTITIES = 100
MAX_LIST_ITEMS = 1000


# --- finding identities -----------------------------------------------------------------------
def _stored_name(call: Call, given: str) -> str:
    """The stored form of an identity named by the caller: a name (domains IDNA-encoded and
    lower-cased) or the identity's ARN in the caller's account and region."""
    name = given
    if given.startswith("arn:"):
        prefix = f"arn:aws:ses:{call.region.code}:{call.account.pk}:identity/"
        if not given.startswith(prefix):
            return ""  # another account, region or resource: never found
        name = given[len(prefix) :]
    if validators.looks_like_email(name):
        return name
    return validators.domain_lookup_name(name)


def _find(call: Call, given: str) -> Identity | None:
    stored = _stored_name(call, given)
    if not stored:
        return None
    return Identity.objects.in_scope(call.account, call.region).filter(name=stored).first()


def _require(call: Call, given: str, code: str = "InvalidParameterValue") -> Identity:
    identity = _find(call, given)
    if identity is None:
        raise QueryError(code, f"Identity {given[:320]} is not verified or does not exist.")
    return identity


def _many(call: Call, given: list[str]) -> list[tuple[str, Identity]]:
    """(name as given, identity) for the identities that exist, in the order asked."""
    if len(given) > MAX_ATTRIBUTE_IDENTITIES:
        raise invalid_parameter(
            f"Give at most {MAX_ATTRIBUTE_IDENTITIES} identities per call; {len(given)} were "
            "given. Split the list into several calls."
        )
    stored = {name: _stored_name(call, name) for name in given}
    found = {
        identity.name: identity
        for identity in Identity.objects.in_scope(call.account, call.region).filter(
            name__in=[name for name in stored.values() if name]
        )
    }
    return [(name, found[stored[name]]) for name in given if stored[name] in found]


# --- verify and delete ------------------------------------------------------------------------
def _create(call: Call, spec: provisioning.NewIdentity) -> Identity:
    try:
        return operations.create_identity(call.account, call.region, spec, actor=call.actor)
    except validators.AlreadyExistsError:
        # Created meanwhile by a concurrent call: SES's Verify* calls are idempotent.
        found = _find(call, spec.name)
        if found is None:
            raise
        return found


def verify_email_identity(call: Call) -> dict[str, Any]:
    from verification import flows  # the verification app sits above identities

    address = validators.normalize_email(call.body["EmailAddress"])
    identity = _find(call, address)
    if identity is None:
        _create(call, provisioning.NewIdentity(IdentityType.EMAIL_ADDRESS, address))
    elif identity.is_domain:
        raise invalid_parameter(f"{address} is not an email address.")
    elif not identity.verified_for_sending:
        # A mail that went out moments ago (TooManyRequests) needs no second one.
        with contextlib.suppress(flows.TooManyRequestsError):
            flows.resend_verification_email(identity, actor=call.actor)
    return {}


def verify_email_address(call: Call) -> None:
    verify_email_identity(call)


def verify_domain_identity(call: Call) -> dict[str, Any]:
    domain = validators.normalize_domain(call.body["Domain"])
    identity = _find(call, domain)
    if identity is None:
        spec = provisioning.NewIdentity(
            IdentityType.DOMAIN, domain, dkim=None, legacy_verification=True
        )
        identity = _create(call, spec)
        return {"VerificationToken": identity.verification_token}
    return {"VerificationToken": operations.start_legacy_verification(identity, actor=call.actor)}


def verify_domain_dkim(call: Call) -> dict[str, Any]:
    domain = validators.normalize_domain(call.body["Domain"])
    identity = _find(call, domain)
    if identity is None:
        identity = _create(call, provisioning.NewIdentity(IdentityType.DOMAIN, domain))
    elif not identity.dkim_tokens:
        # A domain verified by its TXT record alone: Easy DKIM on (and signing with it).
        operations.use_easy_dkim(identity, actor=call.actor)
    return {"DkimTokens": list(identity.dkim_tokens)}


def delete_identity(call: Call) -> dict[str, Any]:
    identity = _find(call, call.body["Identity"])
    if identity is not None:
        operations.delete_identity(identity, actor=call.actor)
    return {}


def delete_verified_email_address(call: Call) -> None:
    identity = _find(call, call.body["EmailAddress"])
    if identity is not None and not identity.is_domain:
        operations.delete_identity(identity, actor=call.actor)


# --- listing ----------------------------------------------------------------------------------
def list_identities(call: Call) -> dict[str, Any]:
    body = call.body
    kind = body.get("IdentityType")
    size = body.get("MaxItems", MAX_LIST_ITEMS)
    if not 1 <= size <= MAX_LIST_ITEMS:
        raise invalid_parameter(f"MaxItems must be from 1 to {MAX_LIST_ITEMS}; it is {size}.")
    queryset = Identity.objects.in_scope(call.account, call.region)
    if kind is not None:
        queryset = queryset.filter(identity_type=IDENTITY_TYPE_V2[kind])
    names, next_token = keyset_page(
        queryset.values_list("name", flat=True),
        scope=list_scope(call, f"v1-identities:{kind or 'all'}"),
        token=body.get("NextToken"),
        size=size,
        name_of=str,
    )
    return {"Identities": list(names), "NextToken": next_token}


def list_verified_email_addresses(call: Call) -> dict[str, Any]:
    addresses = (
        Identity.objects.in_scope(call.account, call.region)
        .filter(identity_type=IdentityType.EMAIL_ADDRESS)
        .verified()
        .values_list("name", flat=True)
    )
    return {"VerifiedEmailAddresses": list(addresses)}


# --- Get*Attributes ---------------------------------------------------------------------------
def get_identity_verification_attributes(call: Call) -> dict[str, Any]:
    attributes = {}
    for name, identity in _many(call, call.body["Identities"]):
        value = {"VerificationStatus": STATUS[identity.verification_status]}
        if identity.is_domain:
            value["VerificationToken"] = identity.ensure_verification_token()
        attributes[name] = value
    return {"VerificationAttributes": attributes}


def get_identity_dkim_attributes(call: Call) -> dict[str, Any]:
    attributes = {}
    for name, identity in _many(call, call.body["Identities"]):
        value: dict[str, Any] = {
            "DkimEnabled": identity.dkim_signing_enabled,
            "DkimVerificationStatus": STATUS[identity.dkim_status],
        }
        if identity.is_domain and identity.dkim_tokens:
            value["DkimTokens"] = list(identity.dkim_tokens)
        attributes[name] = value
    return {"DkimAttributes": attributes}


def get_identity_mail_from_domain_attributes(call: Call) -> dict[str, Any]:
    attributes = {}
    for name, identity in _many(call, call.body["Identities"]):
        value = {"BehaviorOnMXFailure": BEHAVIOR[identity.mail_from_behavior]}
        if identity.mail_from_domain:
            value["MailFromDomain"] = identity.mail_from_domain
            value["MailFromDomainStatus"] = STATUS[identity.mail_from_status]
        attributes[name] = value
    return {"MailFromDomainAttributes": attributes}


def get_identity_notification_attributes(call: Call) -> dict[str, Any]:
    attributes = {}
    for name, identity in _many(call, call.body["Identities"]):
        attributes[name] = {
            "BounceTopic": identity.bounce_topic or None,
            "ComplaintTopic": identity.complaint_topic or None,
            "DeliveryTopic": identity.delivery_topic or None,
            "ForwardingEnabled": identity.feedback_forwarding_enabled,
            "HeadersInBounceNotificationsEnabled": identity.headers_in_bounce_notifications,
            "HeadersInComplaintNotificationsEnabled": identity.headers_in_complaint_notifications,
            "HeadersInDeliveryNotificationsEnabled": identity.headers_in_delivery_notifications,
        }
    return {"NotificationAttributes": attributes}


# --- Set* -------------------------------------------------------------------------------------
def set_identity_mail_from_domain(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    # No MailFromDomain turns custom MAIL FROM off (Terraform "deletes" this way).
    domain = call.body.get("MailFromDomain", "")
    behavior = BEHAVIOR_V2[call.body.get("BehaviorOnMXFailure", "UseDefaultValue")]
    operations.set_mail_from(identity, domain, behavior, actor=call.actor)
    return {}


def set_identity_dkim_enabled(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    operations.set_dkim_signing(identity, call.body["DkimEnabled"], actor=call.actor)
    return {}


def set_identity_feedback_forwarding_enabled(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    enabled = call.body["ForwardingEnabled"]
    if not enabled and not (identity.bounce_topic and identity.complaint_topic):
        raise invalid_parameter(
            "Feedback forwarding can be disabled only when bounce and complaint notifications "
            f"of {identity.name} go to SNS topics. Set both topics with "
            "SetIdentityNotificationTopic first."
        )
    operations.set_feedback_forwarding(identity, enabled, actor=call.actor)
    return {}


def set_identity_headers_in_notifications_enabled(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"], code="MessageRejected")
    operations.set_headers_in_notifications(
        identity, call.body["NotificationType"], call.body["Enabled"], actor=call.actor
    )
    return {}


def set_identity_notification_topic(call: Call) -> dict[str, Any]:
    given = call.body["Identity"]
    identity = _find(call, given)
    if identity is None:
        raise invalid_parameter(
            f"Invalid identity {given[:320]}: Must be a verified email address or domain."
        )
    operations.set_notification_topic(
        identity, call.body["NotificationType"], call.body.get("SnsTopic", ""), actor=call.actor
    )
    return {}


# --- sending authorization policies -----------------------------------------------------------
def put_identity_policy(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    name = validators.validate_policy_name(call.body["PolicyName"])
    try:
        document = validators.validate_policy_document(call.body["Policy"])
    except ValidationError as exc:
        raise QueryError("InvalidPolicy", " ".join(exc.messages)) from None
    operations.put_policy(identity, name, document, actor=call.actor)
    return {}


def get_identity_policies(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    names = call.body["PolicyNames"]
    policies = identity.policies.filter(name__in=names).values_list("name", "document")
    return {"Policies": dict(policies)}


def list_identity_policies(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    return {"PolicyNames": list(identity.policies.order_by("name").values_list("name", flat=True))}


def delete_identity_policy(call: Call) -> dict[str, Any]:
    identity = _require(call, call.body["Identity"])
    name = validators.validate_policy_name(call.body["PolicyName"])
    operations.delete_policy(identity, name, actor=call.actor)
    return {}


ACTIONS: dict[str, Callable[[Call], dict[str, Any] | None]] = {
    "VerifyEmailIdentity": verify_email_identity,
    "VerifyEmailAddress": verify_email_address,
    "VerifyDomainIdentity": verify_domain_identity,
    "VerifyDomainDkim": verify_domain_dkim,
    "DeleteIdentity": delete_identity,
    "DeleteVerifiedEmailAddress": delete_verified_email_address,
    "ListIdentities": list_identities,
    "ListVerifiedEmailAddresses": list_verified_email_addresses,
    "GetIdentityVerificationAttributes": get_identity_verification_attributes,
    "GetIdentityDkimAttributes": get_identity_dkim_attributes,
    "GetIdentityMailFromDomainAttributes": get_identity_mail_from_domain_attributes,
    "GetIdentityNotificationAttributes": get_identity_notification_attributes,
    "SetIdentityMailFromDomain": set_identity_mail_from_domain,
    "SetIdentityDkimEnabled": set_identity_dkim_enabled,
    "SetIdentityFeedbackForwardingEnabled": set_identity_feedback_forwarding_enabled,
    "SetIdentityHeadersInNotificationsEnabled": set_identity_headers_in_notifications_enabled,
    "SetIdentityNotificationTopic": set_identity_notification_topic,
    "PutIdentityPolicy": put_identity_policy,
    "GetIdentityPolicies": get_identity_policies,
    "ListIdentityPolicies": list_identity_policies,
    "DeleteIdentityPolicy": delete_identity_policy,
}
