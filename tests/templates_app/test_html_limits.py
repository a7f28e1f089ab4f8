"""Issue 14 §3: a template's HTML costs a bounded amount of work. Tags and nesting depth are
capped by a linear scan before any parser runs, the cheap fields are checked before the
content, and the preview is sanitised once when saved, never on a page view.

The bound is a work count, not a wall clock: the scan reports how many tags it looked at
(it stops one past a limit), and what passes it holds at most MAX_TEMPLATE_TAGS tags nested
at most MAX_NESTING_DEPTH deep, which bounds the sanitiser's open-element stack walks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Region
from identities.models import Identity
from templates_app import html_rules, rules
from templates_app.html_limits import MAX_NESTING_DEPTH, MAX_TEMPLATE_TAGS, measure_structure
from templates_app.models import CustomVerificationEmailTemplate

TOO_DEEP = (
    f"Elements here are nested more than {MAX_NESTING_DEPTH} levels deep, the most sesconsole "
    "accepts. Close elements you no longer need, or flatten the layout."
)
TOO_MANY = (
    f"The template has more than {MAX_TEMPLATE_TAGS:,} tags, the most sesconsole accepts. A "
    "verification email needs far fewer: shorten the content."
)
WORK_BOUND = MAX_TEMPLATE_TAGS * MAX_NESTING_DEPTH


def nested(depth: int, inner: str = "x") -> str:
    return "<div>" * depth + inner + "</div>" * depth


ADVERSARIAL = {
    "60,000 nested div (the probe)": "<div>" * 60_000,
    "9 MB of br (the probe)": "<br>" * (9 * 1024 * 1024 // 4),
    "deep then wide": nested(MAX_NESTING_DEPTH - 1, "<p>x</p>" * 9_000),
    "unclosed inline tags": "<b><i><u>" * 10_000,
    "closing tags that close nothing": "</div>" * 100_000,
    "mixed nesting with stray closes": ("<div><span></p>" * 500 + "</div>" * 500) * 10,
}


@pytest.mark.parametrize("content", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_template_work_is_bounded(content: str) -> None:
    structure = measure_structure(content)
    # The scan's own work: it never looks at more than one tag past the limit.
    assert structure.tags <= MAX_TEMPLATE_TAGS + 1
    if structure.problem is None:
        # What reaches the parsers: at most tags x depth steps of the sanitiser's stack walk.
        assert structure.tags * max(structure.depth, 1) <= WORK_BOUND
        html_rules.find_html_problems(content)  # and it is then parsed
    else:
        [problem] = html_rules.find_html_problems(content)
        assert problem.message == structure.problem


def test_nesting_beyond_the_limit_is_refused_where_it_happens() -> None:
    assert html_rules.find_html_problems(nested(MAX_NESTING_DEPTH)) == []
    deep = "<p>ok</p>\n" + "<div>" * 60_000
    [problem] = html_rules.find_html_problems(deep)
    assert (problem.line, problem.column, problem.message) == (
        2,
        5 * MAX_NESTING_DEPTH + 1,
        TOO_DEEP,
    )
    assert measure_structure(deep).tags == MAX_NESTING_DEPTH + 3  # <p></p>, then 401 <div>


def test_tag_count_beyond_the_limit_is_refused() -> None:
    assert html_rules.find_html_problems("<br>" * MAX_TEMPLATE_TAGS) == []
    [problem] = html_rules.find_html_problems("<br>" * (9 * 1024 * 1024 // 4))
    assert (problem.line, problem.column, problem.message) == (
        1,
        4 * MAX_TEMPLATE_TAGS + 1,
        TOO_MANY,
    )


def test_void_and_self_closed_tags_do_not_deepen() -> None:
    content = "<p>" + "<br><img src='https://x.example/a.png'/><hr/>" * 1000 + "</p>"
    assert measure_structure(content).depth == 1


def test_cheap_fields_are_checked_before_the_content(account: Account, region: Region) -> None:
    """9 MB of <br> with an unverified From: refused for the From, the content never parsed
    (it would also break the tag limit, and that error is not reported)."""
    with pytest.raises(ValidationError) as excinfo:
        rules.create_template(
            account, region, name="Big", from_email_address="a@unverified.example",
            subject="Hi", content="<br>" * (9 * 1024 * 1024 // 4),
            success_redirection_url="https://example.com/ok",
            failure_redirection_url="https://example.com/no",
        )  # fmt: skip
    assert excinfo.value.message_dict == {
        "from_email_address": [
            "a@unverified.example is not verified in us-east-1. Verify the address, or a domain "
            "it belongs to, in Verified identities first."
        ]
    }


@pytest.mark.parametrize(
    "char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x7f", "\x85", "\u2028", "\t"]
)
def test_subject_refuses_control_characters(char: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        rules.validate_subject(f"Hello{char}there")
    assert excinfo.value.messages == [
        f"The subject contains the control character U+{ord(char):04X} at position 6; a mail "
        "header can't carry it. Remove it (tabs, form feeds and separators included) and keep "
        "plain text."
    ]
    assert rules.validate_subject("Héllo – there ✓") == "Héllo – there ✓"


@pytest.fixture
def verified_domain(make_domain: Callable[..., Identity]) -> Identity:
    identity = make_domain("example.com")
    identity.mark_verified()
    return identity


def page(client: Client, view: str, name: str) -> str:
    url = reverse(f"templates_app:{view}", kwargs={"region": "us-east-1", "name": name})
    return client.get(url).content.decode()


def test_preview_is_sanitised_when_saved_and_read_on_views(
    owner_client: Client,
    verified_domain: Identity,
    make_template: Callable[..., CustomVerificationEmailTemplate],
) -> None:
    template = make_template(content='<p onclick="x()">Hello</p>')
    assert template.preview_html == "<p>Hello</p>"
    assert template.preview_error == ""
    # Views show what was stored: a marker written behind the model's back proves they do not
    # sanitise again.
    CustomVerificationEmailTemplate.objects.filter(pk=template.pk).update(
        preview_html="<p>stored preview</p>"
    )
    assert "<p>stored preview</p>" in page(owner_client, "preview", "Welcome")
    # Saving new content (any path: here the API's rules) sanitises again, once.
    rules.update_template(template, content="<p>New</p>")
    template.refresh_from_db()
    assert template.preview_html == "<p>New</p>"
    assert "<p>New</p>" in page(owner_client, "preview", "Welcome")


def test_stored_template_beyond_the_limits_is_never_parsed_on_view(
    owner_client: Client,
    verified_domain: Identity,
    make_template: Callable[..., CustomVerificationEmailTemplate],
) -> None:
    """A template stored before the limits (here written straight to the database)."""
    template = make_template(content="<div>" * 60_000)
    assert template.preview_html == ""
    assert template.preview_error == f"Line 1, column {5 * MAX_NESTING_DEPTH + 1}: {TOO_DEEP}"
    detail = page(owner_client, "detail", "Welcome")
    assert TOO_DEEP in detail
    assert TOO_DEEP in page(owner_client, "preview", "Welcome")


def test_worst_case_template_benchmark_runs(capsys: Any) -> None:
    """bench/template_html.py runs (its figures are not asserted: the machine is shared)."""
    import runpy
    import sys

    argv = sys.argv
    sys.argv = ["template_html.py", "--repeat", "1"]
    try:
        runpy.run_path("bench/template_html.py", run_name="__main__")
    finally:
        sys.argv = argv
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "worst accepted (depth x tags at the limits)",
        "refused",
        "refused",
        "realistic (150 table rows)",
    ]
    assert ["accepted" in line for line in lines] == [True, False, False, True]
