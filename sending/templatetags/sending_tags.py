"""The account dashboard's sending quota and usage (SentLast24Hours), as GetAccount reports it."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from accounts.models import AccountRegion
from sending.quota import sent_last_24_hours

register = template.Library()


@register.inclusion_tag("sending/_quota.html")
def sending_quota(state: AccountRegion) -> dict[str, Any]:
    quota = state.send_quota()
    sent = sent_last_24_hours(state.account_id, state.region_id, timezone.now())
    limit = quota.max_24_hour_send
    return {
        "quota": quota,
        "sent": sent,
        "remaining": None if limit < 0 else max(int(limit) - sent, 0),
        "percent": 0 if limit <= 0 else min(100, round(100 * sent / limit)),
    }
