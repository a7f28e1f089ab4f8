"""Small template helpers for pages that render many rows: cheaper than {% include %} and
{% url %} per row, with exactly the same output."""

from __future__ import annotations

from urllib.parse import quote

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# status -> (CSS modifier, icon, the SES console's word)
STATUS_INDICATORS = {
    "SUCCESS": ("success", "✓", "Verified"),
    "PENDING": ("pending", "◷", "Pending"),
    "FAILED": ("failed", "✕", "Failed"),
    "TEMPORARY_FAILURE": ("warning", "⚠", "Temporary failure"),
}
NOT_STARTED = ("stopped", "—", "Not started")

# What django.urls.reverse() leaves unquoted in a path argument (RFC 3986 sub-delims, / ~ : @).
PATH_SAFE = "!$&'()*+,;=/~:@"


@register.simple_tag
def status_indicator(status: str, label: str = "") -> SafeString:
    """A Cloudscape-style status indicator: an icon and the SES console's word."""
    modifier, icon, word = STATUS_INDICATORS.get(status, NOT_STARTED)
    if (modifier, icon, word) == NOT_STARTED:
        label = ""  # an identity that never started shows no other word
    return format_html(
        '<span class="status status--{}"><span class="status__icon" aria-hidden="true">{}</span>{}</span>',
        modifier,
        icon,
        label or word,
    )


@register.filter
def path_segment(value: str) -> str:
    """Quote an identity name for a URL path exactly as reverse() quotes `<path:name>`."""
    return quote(str(value), safe=PATH_SAFE)
