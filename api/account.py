"""GetAccount and PutAccountDetails (a production-access request reviewed in admin)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AccountRegion, ProductionAccessPending
from sending.quota import sent_last_24_hours

from .errors import ApiError, bad_request
from .wire import Call, compact


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
    """Record a production access request (the model holds the rules, shared with the
    console). A request still under review is a 409 ConflictException."""
    body = call.body
    settings_row = call.account.region_settings(call.region)
    try:
        settings_row.request_production_access(
            mail_type=body["MailType"],
            website_url=body["WebsiteURL"],
            use_case_description=body.get("UseCaseDescription", ""),
            contact_language=body.get("ContactLanguage", "EN"),
            additional_contact_email_addresses=body.get("AdditionalContactEmailAddresses", []),
        )
    except ProductionAccessPending as exc:
        raise ApiError("ConflictException", str(exc)) from None
    except ValidationError as exc:
        raise bad_request(exc.messages[0]) from None
    return {}
