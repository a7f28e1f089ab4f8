"""The console's list pages, one way for all: a page-size preference and filters kept in the
URL, so a list can be bookmarked, shared and reloaded as it is shown.

`?size=` picks the page size; it is then remembered in the session for that list (as the SES
console keeps its table preferences), and a URL without it uses the remembered one. Filters are
plain GET fields (`?q=` and the list's own choices); `templates/_list_filters.html` renders
them with the size, `templates/_pagination.html` the page links, which keep every field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50


def page_size(request: HttpRequest, list_name: str) -> int:
    """The size in the URL (then remembered for this list), else the remembered one, else 50."""
    key = f"page_size:{list_name}"
    try:
        size = int(request.GET.get("size", ""))
    except ValueError:
        size = 0
    if size in PAGE_SIZES:
        request.session[key] = size
        return size
    remembered = request.session.get(key)
    return int(remembered) if remembered in PAGE_SIZES else DEFAULT_PAGE_SIZE


def paginate(request: HttpRequest, queryset: QuerySet[Any], list_name: str) -> dict[str, Any]:
    """The page asked for (`?page=`) at the list's page size, as template context: `page`,
    its `rows` (one sliced query; the paginator counts once) and the elided `page_range`."""
    paginator = Paginator(queryset, page_size(request, list_name))
    page = paginator.get_page(request.GET.get("page"))
    return {
        "page": page,
        "rows": list(page.object_list),
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "page_sizes": PAGE_SIZES,
        "page_size": paginator.per_page,
    }


class ListFilterForm(forms.Form):
    """A list's filters: the text filter; a list adds its own ChoiceFields. Invalid values are
    ignored (the list is shown unfiltered on that field), never an error page."""

    q = forms.CharField(label="Filter", required=False, max_length=320)

    def value(self, name: str, default: str = "") -> str:
        """The cleaned value, or the default when the field was invalid."""
        self.is_valid()
        value = self.cleaned_data.get(name) or default
        return value.strip() if isinstance(value, str) else value

    def is_filtered(self) -> bool:
        return any(self.value(name) for name in self.fields if name != "sort")
