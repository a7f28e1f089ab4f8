"""Small template helpers for pages that render many rows: cheaper than {% include %} and
{% url %} per row, with exactly the same output."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django import template
from django.forms import BoundField
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from identities.models import Identity, IdentityType, VerificationStatus

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


def path_segment(value: str) -> str:
    """Quote an identity name for a URL path exactly as reverse() quotes `<path:name>`."""
    return quote(str(value), safe=PATH_SAFE)


TYPE_LABELS = dict(IdentityType.choices)
STATUS_LABELS = dict(VerificationStatus.choices)

# One row of the Verified identities table. hx-preserve keeps the user's selection when the
# pending poll swaps the table.
IDENTITY_ROW = (
    "<tr>"
    '<td class="table__select"><input type="checkbox" name="identity" value="{name}" '
    'form="bulk-delete-form" id="select-{pk}" hx-preserve aria-label="Select {name}"></td>'
    '<td><a href="{list_url}{segment}/">{name}</a></td>'
    "<td>{type}</td>"
    "<td>{status}</td>"
    "</tr>\n"
)


@register.simple_tag
def identity_rows(rows: Iterable[Identity], list_url: str) -> SafeString:
    """The list page's rows in one tag: a 50-row page would otherwise render ~600 template
    nodes, half the page's server time (bench/list_page.py). Every value is HTML-escaped, as
    format_html would, with plain str.format and the stdlib's escape for speed."""
    url = html.escape(list_url)
    return mark_safe(  # noqa: S308  (every interpolated value is escaped here)
        "".join(
            IDENTITY_ROW.format(
                name=html.escape(row.name),
                pk=int(row.pk),
                list_url=url,
                segment=html.escape(path_segment(row.name)),
                type=html.escape(TYPE_LABELS.get(row.identity_type, row.identity_type)),
                status=status_indicator(
                    row.verification_status,
                    STATUS_LABELS.get(row.verification_status, row.verification_status),
                ),
            )
            for row in rows
        )
    )


# --- <select> elements, built here rather than by Django's widget templates, which render one
# template include per <option>: the two filter selects of the list page cost a fifth of its
# server time that way.
def _options(choices: Iterable[tuple[object, object]], selected: str) -> str:
    return "".join(
        '<option value="{}"{}>{}</option>'.format(
            html.escape(str(value)),
            " selected" if str(value) == selected else "",
            html.escape(str(label)),
        )
        for value, label in choices
    )


@register.simple_tag
def select_field(field: BoundField) -> SafeString:
    """A ChoiceField's <select>, as its Select widget renders it."""
    choices = field.field.choices  # type: ignore[attr-defined]
    selected = "" if field.value() is None else str(field.value())
    name, element_id = html.escape(field.html_name), html.escape(field.id_for_label)
    options = _options(choices, selected)
    return mark_safe(f'<select name="{name}" id="{element_id}">{options}</select>')  # noqa: S308


@register.simple_tag
def region_options(regions: Iterable[Any], current: str | None) -> SafeString:
    """The top bar's region selector options: "US East (N. Virginia) · us-east-1"."""
    choices = ((region.code, f"{region.name} · {region.code}") for region in regions)
    return mark_safe(_options(choices, current or ""))  # noqa: S308  (escaped in _options)
