"""SES v1 account actions: GetSendQuota, GetAccountSendingEnabled, GetSendStatistics, and the
send actions.

The quotas are the v2 API's (`api.account`: the sandbox's 200 a day at 1 a second, or the
production quota) from the same per-region account settings, so `GetAccount` and
`GetSendQuota` agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.account import PRODUCTION_QUOTA, SANDBOX_QUOTA
from api.wire import Call

from .errors import QueryError


def get_send_quota(call: Call) -> dict[str, Any]:
    settings_row = call.account.region_settings(call.region)
    quota = PRODUCTION_QUOTA if settings_row.production_access_enabled else SANDBOX_QUOTA
    return {**quota, "SentLast24Hours": 0.0}


def get_account_sending_enabled(call: Call) -> dict[str, Any]:
    return {"Enabled": call.account.region_settings(call.region).sending_enabled}


def get_send_statistics(call: Call) -> dict[str, Any]:
    # django-ses's dashboard reads this; always a list, even an empty one.
    return {"SendDataPoints": []}


def send_not_available(call: Call) -> dict[str, Any]:
    raise QueryError(
        "MessageRejected",
        "This server does not send mail through the v1 API yet: SendEmail and SendRawEmail "
        "are not available. Use the SES v2 API or SMTP where they are.",
    )


ACTIONS: dict[str, Callable[[Call], dict[str, Any] | None]] = {
    "GetSendQuota": get_send_quota,
    "GetAccountSendingEnabled": get_account_sending_enabled,
    "GetSendStatistics": get_send_statistics,
    "SendEmail": send_not_available,
    "SendRawEmail": send_not_available,
}
