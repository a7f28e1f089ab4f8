"""Sending authorization: may the calling account send through another account's identity?

The delegate names the owner's identity by ARN (v2 FromEmailAddressIdentityArn, v1 SourceArn,
the X-SES-*-ARN headers). The owner's policies on that identity are evaluated with IAM's logic
(ses-sending §10; SES points to the IAM policy language): default deny, an explicit Deny
wins, otherwise one matching Allow grants. Within a statement every condition operator must
hold, every key of an operator must hold, and any one of a key's values may match.

Choices made here (UNVERIFIED as SES-specific behaviour):
- sesconsole has no IAM users: an access key acts as its account's root, so a principal
  matches as `*`, the 12-digit account id, or `arn:aws:iam::<account>:root`;
- condition keys: `ses:FromAddress`, `ses:FromDisplayName`, `ses:Recipients` (multivalued),
  `ses:FeedbackAddress`, `aws:CurrentTime`, `aws:EpochTime`, `aws:PrincipalAccount`;
  operators: String(Not)Equals(IgnoreCase), String(Not)Like, Date*, Null, with the
  `ForAllValues:`/`ForAnyValue:` prefixes and the `IfExists` suffix. A key the request does not
  have makes its condition false (true for negated operators, `IfExists` and `ForAllValues`);
- an operator sesconsole does not know makes an Allow statement not apply and a Deny
  statement apply: an unknown condition never grants;
- wildcards `*` and `?` are matched by `wildcard_match` below (no maintained Python library
  implements IAM's matching alone; fnmatch would also give `[` and `]` a meaning IAM has not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.utils import timezone

from accounts.models import Account, Region
from identities import hierarchy
from identities.models import Identity

from .addresses import Address
from .errors import RefusalKind, SendRefused, not_verified

_ARN = re.compile(r"^arn:aws:ses:([a-z0-9-]+):(\d{12}):identity/(.+)\Z")


@lru_cache(maxsize=512)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    translated = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{translated}\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's StringLike: `*` is any run of characters, `?` one character, the rest literal."""
    return bool(_wildcard(pattern, ignore_case).match(value))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- conditions ------------------------------------------------------------------------------
def _parse_date(value: str) -> datetime | None:
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), tz=UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _string_op(base: str, wanted: str, have: str) -> bool | None:
    if base in ("StringEquals", "StringNotEquals"):
        return have == wanted
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return have.lower() == wanted.lower()
    if base in ("StringLike", "StringNotLike"):
        return wildcard_match(wanted, have)
    if base.startswith("Date"):
        left, right = _parse_date(have), _parse_date(wanted)
        if left is None or right is None:
            return False
        comparison = base.removeprefix("Date").removeprefix("Not")
        return {
            "Equals": left == right,
            "LessThan": left < right,
            "LessThanEquals": left <= right,
            "GreaterThan": left > right,
            "GreaterThanEquals": left >= right,
        }.get(comparison)
    return None


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "DateNotEquals")


def _condition_holds(
    operator: str, key: str, wanted: list[str], context: dict[str, list[str]]
) -> bool | None:
    """True/False, or None when the operator is unknown."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    have = context.get(key.lower())
    if base == "Null":
        return (have is None) == (str(wanted[0]).lower() == "true") if wanted else None
    negated = base in _NEGATED
    if have is None:
        return if_exists or negated or qualifier == "ForAllValues"
    results: list[list[bool]] = []
    for value in have:
        row = []
        for want in wanted:
            result = _string_op(base, str(want), value)
            if result is None:
                return None
            row.append(result)
        results.append(row)
    matched = [any(row) for row in results]
    if qualifier == "ForAllValues":
        return all(not m for m in matched) if negated else all(matched)
    if negated:
        return not any(matched)
    return any(matched)


def _conditions_hold(conditions: Any, context: dict[str, list[str]], effect: str) -> bool:
    if not conditions:
        return True
    if not isinstance(conditions, dict):
        return effect == "Deny"
    for operator, keys in conditions.items():
        if not isinstance(keys, dict):
            return effect == "Deny"
        for key, wanted in keys.items():
            holds = _condition_holds(str(operator), str(key), _as_list(wanted), context)
            if holds is None:
                return effect == "Deny"  # unknown: never grants, always denies
            if not holds:
                return False
    return True


# --- statements ------------------------------------------------------------------------------
def _principal_matches(statement: dict[str, Any], account_id: str) -> bool:
    accepted = {"*", account_id, f"arn:aws:iam::{account_id}:root"}
    if "NotPrincipal" in statement:
        named = statement["NotPrincipal"]
        values = _as_list(named.get("AWS")) if isinstance(named, dict) else _as_list(named)
        return not accepted.intersection(str(v) for v in values)
    principal = statement.get("Principal")
    if principal == "*":
        return True
    values = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    return bool(accepted.intersection(str(v) for v in values))


def _listed(patterns: Iterable[Any], value: str, *, ignore_case: bool) -> bool:
    return any(wildcard_match(str(p), value, ignore_case=ignore_case) for p in patterns)


def _applies(statement: dict[str, Any], account_id: str, action: str, resource: str) -> bool:
    if not _principal_matches(statement, account_id):
        return False
    if "NotAction" in statement:
        if _listed(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    elif not _listed(_as_list(statement.get("Action")), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        return not _listed(_as_list(statement["NotResource"]), resource, ignore_case=False)
    return _listed(_as_list(statement.get("Resource")), resource, ignore_case=False)


def evaluate(
    documents: Iterable[str],
    *,
    account_id: str,
    action: str,
    resource: str,
    context: dict[str, list[str]],
) -> bool:
    """IAM's decision over every policy of one identity: True only for Allow without Deny."""
    allowed = False
    for document in documents:
        try:
            parsed = json.loads(document)
        except ValueError:
            continue
        statements = parsed.get("Statement") if isinstance(parsed, dict) else None
        for statement in _as_list(statements):
            if not isinstance(statement, dict):
                continue
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                continue
            if not _applies(statement, account_id, action, resource):
                continue
            if not _conditions_hold(statement.get("Condition"), context, effect):
                continue
            if effect == "Deny":
                return False
            allowed = True
    return allowed


# --- the send-time check -----------------------------------------------------------------------
def _covers(identity: Identity, address: str) -> bool:
    parts = hierarchy.split_address(address)
    if parts is None:
        return False
    base, domain = parts
    if identity.is_domain:
        return domain == identity.name or domain.endswith("." + identity.name)
    return base == identity.name


def authorize(
    *,
    caller: Account,
    region: Region,
    arn: str,
    action: str,
    from_address: Address,
    recipients: list[str],
    feedback: str | None,
    address: Address | None = None,
) -> Identity:
    """The identity `arn` names, if the caller may send `address` (default: From) through it.

    Raises SendRefused: INVALID_PARAMETER for a malformed ARN or another region, ACCESS_DENIED
    when the owner's policies do not allow it (also when the identity does not exist or is
    not verified: another account's identities are never revealed), MESSAGE_REJECTED when
    the identity does not cover the address.
    """
    checked = address or from_address
    match = _ARN.match(arn or "")
    if match is None:
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            f"{arn!r} is not an identity ARN. Use arn:aws:ses:<region>:<account>:identity/"
            "<identity>.",
        )
    arn_region, owner_id, name = match.groups()
    if arn_region != region.code:
        raise SendRefused(
            RefusalKind.INVALID_PARAMETER,
            f"The identity {arn} is in region {arn_region}; send through that region's endpoint.",
        )
    stored = name if "@" in name else name.lower()
    identity = (
        Identity.objects.select_related("account")
        .filter(account_id=owner_id, region=region, name=stored)
        .first()
    )
    denied = SendRefused(
        RefusalKind.ACCESS_DENIED,
        f"User `arn:aws:iam::{caller.pk}:root' is not authorized to perform `{action}' on "
        f"resource `{arn}'",
    )
    if identity is None or not identity.verified_for_sending:
        if owner_id == caller.pk:
            raise not_verified(region.code, [(checked.original, checked.email)])
        raise denied
    if not _covers(identity, checked.email):
        raise not_verified(region.code, [(checked.original, checked.email)])
    if owner_id == caller.pk:
        return identity
    context = {
        "ses:fromaddress": [from_address.email],
        "ses:fromdisplayname": [from_address.display_name] if from_address.display_name else [],
        "ses:recipients": recipients,
        "aws:currenttime": [timezone.now().isoformat()],
        "aws:epochtime": [str(int(timezone.now().timestamp()))],
        "aws:principalaccount": [caller.pk],
    }
    if feedback:
        context["ses:feedbackaddress"] = [feedback]
    if not from_address.display_name:
        del context["ses:fromdisplayname"]
    documents = identity.policies.values_list("document", flat=True)
    if not evaluate(
        documents, account_id=caller.pk, action=action, resource=identity.arn, context=context
    ):
        raise denied
    return identity
