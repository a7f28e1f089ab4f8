"""Email identity operations: create, get, list, delete, the five Put*Attributes, policies.

Each handler translates the request (validating the wire shapes with `sesconsole.validators`)
and calls one `identities.operations` function, the same one the console and admin call: the
operation validates, applies, records the history event (actor `API <access key id>`) and
queues follow-up work.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db.models import Exists, Value

from identities import operations, provisioning
from identities.models import (
    SENDABLE_STATUSES,
    BehaviorOnMxFailure,
    DkimOrigin,
    Identity,
    IdentityType,
    KeyLength,
)
from sending.operations import KeyCheck, checked_key, key_check_statement, key_check_values
from sesconsole import sql, validators

from . import reads
from .auth import KeyNotConfirmed
from .errors import ApiError, bad_request, not_found
from .pagination import decode_token, keyset_result, keyset_slice, list_scope, page_size
from .wire import Call, JsonText, compact, epoch, json_string, path_value, query_value

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


# --- shared -----------------------------------------------------------------------------------
def find_identity(call: Call, raw_name: str) -> Identity:
    """The caller's identity of that name in the call's region, or NotFoundException."""
    name, stored = _names(raw_name)
    identity = Identity.objects.in_scope(call.account, call.region).filter(name=stored).first()
    if identity is None:
        raise _not_found(call, name)
    identity.region = call.region  # already loaded; saves a query for the DKIM zone
    return identity


def _names(raw_name: str) -> tuple[str, str]:
    """The EmailIdentity path value as given, and as stored: domains IDNA-encoded and
    lower-cased (Example.COM finds example.com)."""
    name = path_value(raw_name, "EmailIdentity")
    if validators.looks_like_email(name):
        return name, name
    return name, validators.domain_lookup_name(name)


def identity_to_preload(path: dict[str, str]) -> str | None:
    """The stored name of the path's EmailIdentity, for authentication to read along
    (`Route.preload`); None if the name is not valid: the operation refuses it once the caller
    is authenticated."""
    try:
        return _names(path["email_identity"])[1]
    except ApiError:
        return None


def _not_found(call: Call, name: str) -> ApiError:
    return not_found(f"Email identity {name} does not exist in {call.region.code}.")


def dkim_attributes(identity: Identity) -> dict[str, Any]:
    """DkimAttributes as SES reports them; an email address has no tokens or key of its own."""
    easy = not identity.uses_byodkim  # Easy DKIM, its own or a DEED parent's
    has_tokens = identity.is_domain and bool(identity.dkim_tokens)
    return compact(
        {
            "SigningEnabled": identity.dkim_signing_enabled,
            "Status": identity.dkim_status,
            "Tokens": list(identity.dkim_tokens) if has_tokens else None,
            "SigningHostedZone": identity.region.signing_hosted_zone
            if has_tokens and easy
            else None,
            "SigningAttributesOrigin": identity.dkim_origin,
            "NextSigningKeyLength": identity.dkim_next_key_length if easy else None,
            "CurrentSigningKeyLength": (identity.dkim_current_key_length or None) if easy else None,
            "LastKeyGenerationTimestamp": epoch(identity.dkim_last_key_generation_at)
            if easy
            else None,
        }
    )


def mail_from_attributes(identity: Identity) -> dict[str, Any]:
    # Without a custom MAIL FROM, SES answers with the behaviour alone
    # (docs/design.md, "Answers for settings never made").
    if not identity.mail_from_domain:
        return {"BehaviorOnMxFailure": identity.mail_from_behavior}
    return {
        "MailFromDomain": identity.mail_from_domain,
        "MailFromDomainStatus": identity.mail_from_status,
        "BehaviorOnMxFailure": identity.mail_from_behavior,
    }


def verification_info(identity: Identity) -> dict[str, Any]:
    soa = compact(
        {
            "PrimaryNameServer": identity.soa_primary_name_server or None,
            "AdminEmail": identity.soa_admin_email or None,
            "SerialNumber": identity.soa_serial_number,
        }
    )
    return compact(
        {
            "LastCheckedTimestamp": epoch(identity.last_checked_at),
            "LastSuccessTimestamp": epoch(identity.last_success_at),
            "ErrorType": identity.verification_error or None,
            "SOARecord": soa or None,
        }
    )


# --- CreateEmailIdentity ----------------------------------------------------------------------
def create_email_identity(call: Call) -> dict[str, Any]:
    body = call.body
    identity_type, name = validators.normalize_identity(body["EmailIdentity"])
    dkim = _dkim_for_create(identity_type, body.get("DkimSigningAttributes"))
    tags = validators.validate_tags([(tag["Key"], tag["Value"]) for tag in body.get("Tags", [])])
    spec = provisioning.NewIdentity(
        identity_type=identity_type,
        name=name,
        dkim=dkim,
        configuration_set_name=body.get("ConfigurationSetName", ""),
        tags=tags,
    )
    identity = operations.create_identity(call.account, call.region, spec, actor=call.actor)
    return compact(
        {
            "IdentityType": identity.identity_type,
            "VerifiedForSendingStatus": identity.verified_for_sending,
            # SES's answer for a new address is just the type and the sending status.
            "DkimAttributes": dkim_attributes(identity) if identity.is_domain else None,
        }
    )


def _dkim_for_create(
    identity_type: str, attributes: dict[str, Any] | None
) -> provisioning.EasyDkim | provisioning.Byodkim | provisioning.Replica:
    if attributes is None:
        return provisioning.EasyDkim()
    if identity_type != IdentityType.DOMAIN:
        raise bad_request(
            "DkimSigningAttributes apply to domain identities only. An email address is signed "
            "with the DKIM setup of its verified domain."
        )
    origin = attributes.get("DomainSigningAttributesOrigin")
    if origin in (DkimOrigin.AWS_SES, DkimOrigin.EXTERNAL):
        raise bad_request(
            "DomainSigningAttributesOrigin names the region to copy DKIM from "
            "(AWS_SES_<REGION>); AWS_SES and EXTERNAL are not accepted here. Leave it out."
        )
    if origin is not None:
        # A DEED replica (identities.replicas): the parent region's Easy DKIM, nothing else.
        if set(attributes) != {"DomainSigningAttributesOrigin"}:
            raise bad_request(
                "A DEED replica uses its parent's Easy DKIM setup: give "
                "DomainSigningAttributesOrigin alone, without a selector, private key or key "
                "length."
            )
        return provisioning.Replica(origin)
    selector = attributes.get("DomainSigningSelector")
    private_key = attributes.get("DomainSigningPrivateKey")
    if selector is None and private_key is None:
        return provisioning.EasyDkim(attributes.get("NextSigningKeyLength", KeyLength.RSA_2048_BIT))
    return _byodkim(attributes)


def _byodkim(attributes: dict[str, Any]) -> provisioning.Byodkim:
    selector = attributes.get("DomainSigningSelector")
    private_key = attributes.get("DomainSigningPrivateKey")
    if not selector or not private_key:
        raise bad_request(
            "To bring your own DKIM key, give both DomainSigningSelector and "
            "DomainSigningPrivateKey (the base64 RSA private key without BEGIN/END lines)."
        )
    if "NextSigningKeyLength" in attributes:
        raise bad_request(
            "NextSigningKeyLength applies to Easy DKIM only; leave it out when you bring your "
            "own key."
        )
    return provisioning.Byodkim(
        selector=validators.validate_selector(selector),
        key=validators.parse_byodkim_private_key(private_key),
    )


# --- GetEmailIdentity, ListEmailIdentities, DeleteEmailIdentity -------------------------------
def get_email_identity(call: Call, email_identity: str) -> dict[str, Any]:
    name, stored = _names(email_identity)
    # One query for the identity, its tags and its policies: this is the API's most frequent
    # call (api.reads). Usually authentication has read it already, in its own statement.
    preloaded = call.preloaded
    if preloaded is not None and preloaded.name == stored:
        detail = preloaded.detail
    else:
        detail = reads.identity_detail(call.account, call.region, stored)
    if detail is None:
        raise _not_found(call, name)
    identity = detail.identity
    return compact(
        {
            "IdentityType": identity.identity_type,
            "FeedbackForwardingStatus": identity.feedback_forwarding_enabled,
            "VerifiedForSendingStatus": identity.verified_for_sending,
            "DkimAttributes": dkim_attributes(identity),
            "MailFromAttributes": mail_from_attributes(identity),
            "Policies": dict(detail.policies),
            "Tags": [{"Key": key, "Value": value} for key, value in detail.tags],
            "ConfigurationSetName": identity.configuration_set_name or None,
            "VerificationStatus": identity.verification_status,
            "VerificationInfo": verification_info(identity),
        }
    )


def list_email_identities_query(call: Call) -> dict[str, Any]:
    """The GET form older clients send (aws-cli v1's bundled model): query parameters."""
    return _list_identities(
        call, call.query.get("PageSize"), query_value(call, "NextToken"), filters={}
    )


def list_email_identities(call: Call) -> dict[str, Any]:
    """The POST /v2/email/list-identities form of current botocore: a body with Filter."""
    body = call.body
    return _list_identities(
        call, body.get("PageSize"), body.get("NextToken"), filters=body.get("Filter", {})
    )


def _list_identities(
    call: Call, raw_page_size: Any, token: str | None, filters: dict[str, str]
) -> dict[str, Any]:
    size = page_size(raw_page_size, default=DEFAULT_PAGE_SIZE, low=0, high=MAX_PAGE_SIZE)
    given = frozenset(name for name in _FILTERS if name in filters)
    values: dict[str, Any] = {_ACCOUNT: call.account.pk, _REGION: call.region.pk}
    for name in given:
        values[sql.placeholder(name)] = _filter_value(filters, name, _FILTERS[name])
    scope = list_scope(call, "identities")
    after = decode_token(scope, token) if token else None
    values[_AFTER] = after
    check = call.key_check  # api.auth: the key was not read for this request
    if check is not None:
        values.update(key_check_values(check, call.account, call.region))
    statement = sql.bind(_page_sql(size, after is not None, given, check is not None), values)
    with sql.prepared_cursor() as cursor:
        cursor.execute(*statement)
        page_rows = cursor.fetchall()
    if check is not None and not page_rows and not _key_passes(check, call):
        raise KeyNotConfirmed  # api.views authenticates the request again
    rows, next_token = keyset_result(page_rows, scope=scope, size=size, name_of=lambda r: r[1])
    summaries = ",".join(_summary(*row) for row in rows)
    return compact({"EmailIdentities": JsonText(f"[{summaries}]"), "NextToken": next_token})


def _key_passes(check: KeyCheck, call: Call) -> bool:
    """Whether the key passes its check, asked alone: an empty page says nothing of it."""
    [rows] = sql.run_together([key_check_statement(check, call.account, call.region)])
    return bool(rows)


# A page's statement is compiled once per shape (page size, from the start or after a name,
# which filters, with the key's check or not), with placeholders for the values: compiling it
# took as long as running it, and it is prepared once per connection (BENCHMARKS.md,
# "Eleventh session: ListEmailIdentities"). With the check, a key that fails it lists nothing.
_ACCOUNT, _REGION, _AFTER = map(sql.placeholder, ("account", "region", "after"))
_STATUSES = ["PENDING", "SUCCESS", "FAILED", "TEMPORARY_FAILURE", "NOT_STARTED"]
# The filters and their choices (None: any text).
_FILTERS: dict[str, list[str] | None] = {
    "IDENTITY_NAME_CONTAINS": None,
    "IDENTITY_TYPE": IdentityType.values,
    "VERIFICATION_STATUS": _STATUSES,
}


@lru_cache(maxsize=256)
def _page_sql(size: int, after: bool, given: frozenset[str], key_check: bool) -> sql.Statement:
    queryset = Identity.objects.in_scope(_ACCOUNT, _REGION)  # type: ignore[arg-type]
    if key_check:
        queryset = queryset.filter(Exists(checked_key(with_secret=True)))
    if "IDENTITY_NAME_CONTAINS" in given:
        # An expression, not the text itself: the ORM would put the text into a LIKE pattern
        # in Python, and the placeholder would no longer be found. With an expression the
        # database escapes the pattern the same way.
        queryset = queryset.filter(name__icontains=Value(sql.placeholder("IDENTITY_NAME_CONTAINS")))
    if "IDENTITY_TYPE" in given:
        queryset = queryset.filter(identity_type=sql.placeholder("IDENTITY_TYPE"))
    if "VERIFICATION_STATUS" in given:
        queryset = queryset.filter(verification_status=sql.placeholder("VERIFICATION_STATUS"))
    page = keyset_slice(
        queryset.values_list("identity_type", "name", "verification_status"),
        _AFTER if after else None,
        size,
    )
    return sql.compiled_once(page)


def _summary(identity_type: str, name: str, status: str) -> str:
    """One IdentityInfo as JSON (`JsonText`: a page holds up to 1,000 of them)."""
    sending = "true" if status in SENDABLE_STATUSES else "false"
    return (
        f'{{"IdentityType":{json_string(identity_type)},"IdentityName":{json_string(name)},'
        f'"SendingEnabled":{sending},"VerificationStatus":{json_string(status)}}}'
    )


def _filter_value(filters: dict[str, str], key: str, choices: list[str] | None) -> str:
    value = filters[key]
    if choices is not None and value not in choices:
        raise bad_request(f"Filter.{key} must be one of {', '.join(choices)}.")
    return value


def delete_email_identity(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    operations.delete_identity(identity, actor=call.actor)
    return {}


# --- Put*Attributes -------------------------------------------------------------------------
def put_dkim_attributes(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    # An absent boolean means false, as in SES's own (Java) request model.
    operations.set_dkim_signing(identity, call.body.get("SigningEnabled", False), actor=call.actor)
    return {}


def put_dkim_signing_attributes(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    origin = call.body["SigningAttributesOrigin"]
    attributes = call.body.get("SigningAttributes", {})
    if origin == DkimOrigin.AWS_SES:
        if "DomainSigningSelector" in attributes or "DomainSigningPrivateKey" in attributes:
            raise bad_request(
                "DomainSigningSelector and DomainSigningPrivateKey go with "
                "SigningAttributesOrigin EXTERNAL (BYODKIM), not AWS_SES."
            )
        length = attributes.get("NextSigningKeyLength")
        operations.use_easy_dkim(identity, length, actor=call.actor)
    elif origin == DkimOrigin.EXTERNAL:
        byodkim = _byodkim(
            {key: value for key, value in attributes.items() if key != "NextSigningKeyLength"}
        )
        operations.use_byodkim(identity, byodkim.selector, byodkim.key, actor=call.actor)
    else:
        raise bad_request(
            f"SigningAttributesOrigin must be AWS_SES (Easy DKIM) or EXTERNAL (BYODKIM); {origin} "
            "is only meaningful when creating an identity, and this server does not support it."
        )
    return compact(
        {
            "DkimStatus": identity.dkim_status,
            "DkimTokens": list(identity.dkim_tokens),
            "SigningHostedZone": (
                identity.region.signing_hosted_zone if not identity.uses_byodkim else None
            ),
        }
    )


def put_mail_from_attributes(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    # `{}` (no MailFromDomain) turns custom MAIL FROM off, as in SES.
    domain = call.body.get("MailFromDomain") or ""
    behavior = call.body.get("BehaviorOnMxFailure", BehaviorOnMxFailure.USE_DEFAULT_VALUE)
    operations.set_mail_from(identity, domain, behavior, actor=call.actor)
    return {}


def put_configuration_set_attributes(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    # An empty name removes the default set.
    name = call.body.get("ConfigurationSetName", "")
    operations.set_configuration_set(identity, name, actor=call.actor)
    return {}


def put_feedback_attributes(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    enabled = call.body.get("EmailForwardingEnabled", False)
    operations.set_feedback_forwarding(identity, enabled, actor=call.actor)
    return {}


# --- sending authorization policies ---------------------------------------------------------
def create_policy(call: Call, email_identity: str, policy_name: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    name = path_value(policy_name, "PolicyName")
    operations.create_policy(identity, name, call.body["Policy"], actor=call.actor)
    return {}


def update_policy(call: Call, email_identity: str, policy_name: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    name = path_value(policy_name, "PolicyName")
    operations.update_policy(identity, name, call.body["Policy"], actor=call.actor)
    return {}


def delete_policy(call: Call, email_identity: str, policy_name: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    name = validators.validate_policy_name(path_value(policy_name, "PolicyName"))
    operations.delete_policy(identity, name, actor=call.actor)
    return {}


def get_policies(call: Call, email_identity: str) -> dict[str, Any]:
    identity = find_identity(call, email_identity)
    return {"Policies": dict(identity.policies.values_list("name", "document"))}
