"""SES v1 account actions: GetSendQuota, GetAccountSendingEnabled, GetSendStatistics.

The quota is the v2 API's (`api.account.send_quota`: the account's quota in the region and
what it sent in the last 24 hours), so `GetAccount` and `GetSendQuota` agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.account import send_quota
from api.wire import Call


def get_send_quota(call: Call) -> dict[str, Any]:
    return send_quota(call)


def get_account_sending_enabled(call: Call) -> dict[str, Any]:
    return {"Enabled": call.account.region_settings(call.region).sending_enabled}


def get_send_statistics(call: Call) -> dict[str, Any]:
    """django-ses's dashboard reads this. sesconsole keeps no bounce or complaint statistics
    yet, so the list is always empty (written, never left out)."""
    return {"SendDataPoints": []}


ACTIONS: dict[str, Callable[[Call], dict[str, Any] | None]] = {
    "GetSendQuota": get_send_quota,
    "GetAccountSendingEnabled": get_account_sending_enabled,
    "GetSendStatistics": get_send_statistics,
}
