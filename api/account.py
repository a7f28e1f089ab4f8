"""GetAccount and PutAccountDetails (a production-access request reviewed in admin)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from accounts.models import AccountRegion
from identities import validators
from sending.quota import sent_last_24_hours

from .errors import ApiError, bad_request
from .wire import Call, compact

MAX_ADDITIONAL_CONTACTS = 4
_http_url = URLValidator(schemes=["http", "https"])


def send_quota(call: Call) -> dict[str, float]:
    """SendQuota as GetAccount (v2) and GetSendQuota (v1) answer it."""
    quota = call.account.region_settings(call.region).send_quota()
    sent = sent_last_24_hours(call.account, call.region, timezone.now())
    return {
        "Max24HourSend": quota.max_24_hour_send,
        "MaxSendRate": quota.max_send_rate,
        "SentLast24Hours": float(sent),
    }


def get_account(call: Call) -> dict[str, Any]:
    settings_row = call.account.region_settings(call.region)
    return compact(
        {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": settings_row.enforcement_status,
            "ProductionAccessEnabled": settings_row.production_access_enabled,
            "SendQuota": send_quota(call),
            "SendingEnabled": settings_row.sending_enabled,
            "SuppressionAttributes": {"SuppressedReasons": []},
            "Details": _details(settings_row),
        }
    )


def _details(row: AccountRegion) -> dict[str, Any] | None:
    if row.requested_at is None:
        return None  # SES shows Details only once they have been submitted
    return compact(
        {
            "MailType": row.mail_type or None,
            "WebsiteURL": row.website_url or None,
            "ContactLanguage": row.contact_language or None,
            "UseCaseDescription": row.use_case_description or None,
            "AdditionalContactEmailAddresses": list(row.additional_contact_email_addresses) or None,
            "ReviewDetails": compact(
                {"Status": row.review_status or None, "CaseId": row.review_case_id or None}
            )
            or None,
        }
    )


def put_account_details(call: Call) -> dict[str, Any]:
    """Record a production access request. A request still under review is a 409 Conflict."""
    body = call.body
    website = body["WebsiteURL"]
    try:
        _http_url(website)
    except ValidationError:
        raise bad_request(
            "WebsiteURL must be an http:// or https:// URL, for example https://example.com."
        ) from None
    contacts = body.get("AdditionalContactEmailAddresses", [])
    if len(contacts) > MAX_ADDITIONAL_CONTACTS:
        raise bad_request(
            f"Give at most {MAX_ADDITIONAL_CONTACTS} additional contact email addresses."
        )
    contacts = [validators.normalize_email(address) for address in contacts]
    settings_row = call.account.region_settings(call.region)
    if settings_row.review_status == AccountRegion.ReviewStatus.PENDING:
        raise ApiError(
            "ConflictException",
            f"A production access request for {call.region.code} is already under review "
            f"(case {settings_row.review_case_id}). Wait for the decision before sending another.",
        )
    settings_row.request_production_access(
        mail_type=body["MailType"],
        website_url=website,
        use_case_description=body.get("UseCaseDescription", ""),
        contact_language=body.get("ContactLanguage", "EN"),
        additional_contact_email_addresses=contacts,
    )
    return {}
