"""identities.templatetags.console: the hand-built <select>s match Django's widgets."""

from __future__ import annotations

import re
from collections import namedtuple

import pytest

from identities.forms import IdentityFilterForm
from identities.templatetags.console import region_options, select_field


def without_layout_whitespace(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("data", [{}, {"type": "DOMAIN", "status": "FAILED"}, {"q": "x"}])
@pytest.mark.parametrize("name", ["type", "status"])
def test_select_field_renders_what_the_select_widget_renders(
    data: dict[str, str], name: str
) -> None:
    field = IdentityFilterForm(data)[name]

    assert str(select_field(field)) == without_layout_whitespace(str(field))


def test_region_options_mark_the_current_region_and_escape_names() -> None:
    Region = namedtuple("Region", "code name")
    regions = [
        Region("us-east-1", "US East <N. Virginia>"),
        Region("eu-west-1", "Europe & Ireland"),
    ]

    html = str(region_options(regions, "eu-west-1"))

    assert html == (
        '<option value="us-east-1">US East &lt;N. Virginia&gt; · us-east-1</option>'
        '<option value="eu-west-1" selected>Europe &amp; Ireland · eu-west-1</option>'
    )
