from __future__ import annotations

import base64
import html
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templates_app.html_rules import (
    ALLOWED_TAGS,
    MAX_REPORTED_PROBLEMS,
    MAX_TEMPLATE_BYTES,
    HtmlProblem,
    InlineImage,
    TemplateHtmlError,
    extract_inline_images,
    find_html_problems,
    sanitize_for_preview,
    validate_template_html,
)

# The sample from "Creating a custom verification email template", with its line breaks removed
# as the guide says.
SES_SAMPLE_TEMPLATE = (
    "<html> <head></head> <body style='font-family:sans-serif;'> <h1 style='text-align:center'>"
    "Ready to start sending email with ProductName?</h1> <p>We here at Example Corp are happy to "
    "have you on board! There's just one last step to complete before you can start sending "
    "email. Just click the following link to verify your email address. Once we confirm that "
    "you're really you, we'll give you some additional information to help you get started with "
    "ProductName.</p> </body> </html>"
)
UNCLOSED_MESSAGE = (
    "This tag is never closed with '>' before the next '<' or the end of the template. Close it "
    "with '>', or write &lt; for a literal less-than sign in text or in an attribute value."
)
COMMENT_MESSAGE = (
    "Comments are not allowed in custom verification email templates. Remove the comment."
)
# The 8-byte PNG signature is enough to prove the bytes come back unchanged.
PNG_BYTES = b"\x89PNG\r\n\x1a\n"
PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
GIF_BYTES = b"GIF89a"
GIF_DATA_URL = "data:image/gif;base64," + base64.b64encode(GIF_BYTES).decode()
# Tags the SES table leaves out, including <a>: SES adds the verification link itself.
DISALLOWED_TAGS = [
    "script",
    "iframe",
    "a",
    "style",
    "link",
    "meta",
    "object",
    "embed",
    "svg",
    "math",
    "base",
    "frame",
    "title",
    "video",
]
SAFE_URLS = {"src": "https://example.com/logo.png", "cite": "https://example.com/source"}
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _tag_with_all_attributes(tag: str) -> str:
    attributes = " ".join(
        f'{name}="{SAFE_URLS.get(name, "value")}"' for name in sorted(ALLOWED_TAGS[tag])
    )
    return f"<{tag} {attributes}>text</{tag}>"


def _positions(problems: list[HtmlProblem]) -> list[tuple[int, int]]:
    return [(problem.line, problem.column) for problem in problems]


def test_allowed_tags_follow_the_ses_table_order_and_size():
    assert len(ALLOWED_TAGS) == 74
    assert list(ALLOWED_TAGS) == sorted(ALLOWED_TAGS)


def test_allowed_tags_rows_with_extra_attributes_match_the_ses_table():
    extra = {
        tag: sorted(attributes - {"class", "id", "style", "title"})
        for tag, attributes in ALLOWED_TAGS.items()
        if attributes != {"class", "id", "style", "title"}
    }
    assert extra == {
        "blockquote": ["cite"],
        "col": ["span", "width"],
        "colgroup": ["span", "width"],
        "img": ["align", "alt", "height", "src", "width"],
        "ol": ["start", "type"],
        "q": ["cite"],
        "table": ["summary", "width"],
        "td": ["abbr", "axis", "colspan", "rowspan", "width"],
        "th": ["abbr", "axis", "colspan", "rowspan", "scope", "width"],
        "ul": ["type"],
    }


def test_allowed_tags_have_no_link_tag_or_href():
    assert "a" not in ALLOWED_TAGS
    assert [tag for tag, attributes in ALLOWED_TAGS.items() if "href" in attributes] == []


@pytest.mark.parametrize("tag", list(ALLOWED_TAGS))
def test_find_html_problems_accepts_allowed_tag_with_every_allowed_attribute(tag):
    assert find_html_problems(_tag_with_all_attributes(tag)) == []


@pytest.mark.parametrize("attribute", ["onclick", "href"])
@pytest.mark.parametrize("tag", list(ALLOWED_TAGS))
def test_find_html_problems_rejects_attribute_outside_the_tags_list(tag, attribute):
    problems = find_html_problems(f'<{tag} {attribute}="x">text</{tag}>')

    assert _positions(problems) == [(1, 1)]
    assert problems[0].message.startswith(
        f'The "{attribute}" attribute is not allowed on the <{tag}> tag. Remove it; <{tag}> '
        "accepts only "
    )


def test_find_html_problems_names_the_attributes_the_tag_accepts():
    assert find_html_problems('<p onclick="go()" onclick="again()">Hi</p>') == [
        HtmlProblem(
            1,
            1,
            'The "onclick" attribute is not allowed on the <p> tag. Remove it; <p> accepts '
            "only class, id, style and title.",
        )
    ]


@pytest.mark.parametrize("tag", DISALLOWED_TAGS)
def test_find_html_problems_rejects_tag_outside_the_table(tag):
    problems = find_html_problems(f"<p>Hi</p><{tag}>x</{tag}>")

    assert _positions(problems) == [(1, 10)]
    assert problems[0].message.startswith(
        f"The <{tag}> tag is not allowed in custom verification email templates. "
    )


def test_find_html_problems_explains_that_ses_adds_the_link():
    assert find_html_problems('<a href="https://example.com">Verify</a>') == [
        HtmlProblem(
            1,
            1,
            "The <a> tag is not allowed in custom verification email templates. SES adds the "
            "verification link to the end of the message itself, so a template can't contain "
            "links. Remove the <a> tag and keep its text.",
        )
    ]


def test_find_html_problems_rejects_comment():
    assert find_html_problems("<p>Hi</p><!-- note -->") == [HtmlProblem(1, 10, COMMENT_MESSAGE)]


def test_find_html_problems_rejects_conditional_comment_once():
    content = "<p>Hi</p>\n<!--[if mso]><table><tr><td><![endif]-->"

    assert find_html_problems(content) == [
        HtmlProblem(
            2,
            1,
            "Conditional comments such as <!--[if mso]> are not allowed in custom verification "
            "email templates. Remove the comment, keeping any content that all email clients "
            "should show outside it.",
        )
    ]


def test_find_html_problems_rejects_unclosed_comment():
    assert find_html_problems("<p>Hi</p><!-- <p>rest") == [
        HtmlProblem(
            1,
            10,
            "This comment is never closed with '-->', and comments are not allowed in custom "
            "verification email templates. Remove it.",
        )
    ]


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        (
            "<![CDATA[x]]>",
            "CDATA sections such as <![CDATA[x]]> are not allowed in custom verification email "
            "templates. Remove the <![CDATA[ and ]]> markers and write < as &lt; and & as &amp;.",
        ),
        (
            "<![if !mso]>",
            "Conditional sections such as <![if !mso]> are not allowed in custom verification "
            "email templates. Remove it.",
        ),
        (
            '<?xml version="1.0"?>',
            'Processing instructions such as <?xml version="1.0"?> are not allowed in custom '
            "verification email templates. Remove it.",
        ),
        (
            "<!DOCTYPE svg>",
            "The declaration <!DOCTYPE svg> is not allowed in custom verification email "
            "templates. Remove it; the only declaration allowed is <!DOCTYPE html>.",
        ),
    ],
)
def test_find_html_problems_rejects_declarations(markup, message):
    assert find_html_problems(f"<p>Hi</p>{markup}") == [HtmlProblem(1, 10, message)]


@pytest.mark.parametrize(
    "doctype",
    [
        "<!DOCTYPE html>",
        "<!doctype html>",
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    ],
)
def test_find_html_problems_accepts_html_doctype(doctype):
    assert find_html_problems(f"{doctype}\n{SES_SAMPLE_TEMPLATE}") == []


def test_find_html_problems_accepts_the_ses_sample_template():
    assert find_html_problems(SES_SAMPLE_TEMPLATE) == []


def test_find_html_problems_reports_line_and_column_of_each_problem():
    content = (
        "<html>\n"
        "<body>\n"
        "  <p>Hello</p>\n"
        "    <script>alert(1)</script>\n"
        "\t<p onclick='x'>Hi</p><!-- c -->\n"
        "</body>\n"
        "</html>"
    )

    assert _positions(find_html_problems(content)) == [(4, 5), (5, 2), (5, 23)]


def test_find_html_problems_reports_position_of_unclosed_tag():
    assert find_html_problems("<p>ok</p>\n<p>a < b</p>") == [HtmlProblem(2, 6, UNCLOSED_MESSAGE)]


def test_find_html_problems_caps_the_list_and_counts_the_rest():
    problems = find_html_problems("<x>" * 30)

    assert len(problems) == MAX_REPORTED_PROBLEMS + 1
    assert problems[-1] == HtmlProblem(
        1,
        61,
        "...and 10 more problems from here on. Fix the ones listed above and check the "
        "template again to see the rest.",
    )


def test_find_html_problems_lists_problems_of_every_kind_in_document_order():
    content = "<x><!-- c --><?pi?>" * 10

    assert _positions(find_html_problems(content))[:4] == [(1, 1), (1, 4), (1, 14), (1, 20)]


def test_find_html_problems_accepts_template_one_byte_under_the_limit():
    assert find_html_problems("x" * (MAX_TEMPLATE_BYTES - 1)) == []


def test_find_html_problems_rejects_template_of_exactly_ten_mebibytes():
    assert find_html_problems("x" * MAX_TEMPLATE_BYTES) == [
        HtmlProblem(
            1,
            1,
            "The template is 10,485,760 bytes; custom verification email templates must be "
            "smaller than 10 MB (10,485,760 bytes). Make it smaller, for example by linking to "
            "large images with https:// instead of embedding them.",
        )
    ]


def test_find_html_problems_measures_size_in_utf8_bytes():
    problems = find_html_problems("é" * (MAX_TEMPLATE_BYTES // 2))

    assert problems[0].message.startswith("The template is 10,485,760 bytes;")


def test_find_html_problems_does_not_parse_oversized_template(monkeypatch):
    monkeypatch.setattr(HTMLParser, "feed", _fail_if_parsed)

    problems = find_html_problems("<a " * (MAX_TEMPLATE_BYTES // 3 + 1))

    assert _positions(problems) == [(1, 1)]


def test_find_html_problems_does_not_parse_unclosed_tags(monkeypatch):
    monkeypatch.setattr(HTMLParser, "feed", _fail_if_parsed)

    assert find_html_problems("<p>Hi</p><p") == [HtmlProblem(1, 10, UNCLOSED_MESSAGE)]


def _fail_if_parsed(self: HTMLParser, data: str) -> None:
    raise AssertionError("html.parser must not see this input")


def test_find_html_problems_rejects_a_megabyte_of_unclosed_tags():
    # html.parser needs over 10 s for 40 kB of this; a quadratic check would need hours.
    problems = find_html_problems("<a " * 350_000)

    assert problems[:2] == [
        HtmlProblem(1, 1, UNCLOSED_MESSAGE),
        HtmlProblem(1, 4, UNCLOSED_MESSAGE),
    ]
    assert problems[-1].message.startswith("...and 349,980 more problems from here on.")


@pytest.mark.parametrize(
    "unit",
    ["<!--a>", "<![CDATA[a>", "<![a>", "<?a>", '<a b="x>', "</3>", "&#", "<p a=>", "<"],
)
def test_find_html_problems_handles_repeated_adversarial_markup(unit):
    problems = find_html_problems(unit * (200_000 // len(unit)))

    assert len(problems) <= MAX_REPORTED_PROBLEMS + 1


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "&#106;avascript:alert(1)",
    ],
)
def test_find_html_problems_rejects_javascript_image_source(url):
    assert find_html_problems(f'<img src="{url}">') == [
        HtmlProblem(
            1,
            1,
            'The src attribute of <img> uses the "javascript:" scheme, which is not allowed. '
            "Use an https:// or http:// address.",
        )
    ]


def test_find_html_problems_rejects_unsafe_quote_source():
    problems = find_html_problems('<blockquote cite="vbscript:x">Quote</blockquote>')

    assert [problem.message for problem in problems] == [
        'The cite attribute of <blockquote> uses the "vbscript:" scheme, which is not allowed. '
        "Use an https:// or http:// address."
    ]


def test_find_html_problems_rejects_data_url_that_is_not_an_image():
    problems = find_html_problems('<img src="data:text/html;base64,PHA+">')

    assert [problem.message for problem in problems] == [
        "The src attribute of <img> holds a data: URL that is not a base64 PNG, JPEG or GIF "
        "image. Embed images as data:image/png;base64,... (or jpeg, jpg, gif), or link to them "
        "with an https:// address."
    ]


def test_find_html_problems_rejects_invalid_base64_image():
    problems = find_html_problems('<img src="data:image/png;base64,not*base64">')

    assert [problem.message for problem in problems] == [
        "The image data in the src attribute of <img> is not valid base64. Encode the image "
        "again, for example with: base64 -i imagefile.png | tr -d '\\n'"
    ]


@pytest.mark.parametrize(
    "src",
    [
        PNG_DATA_URL,
        GIF_DATA_URL,
        "data:image/jpg;base64,/9j/4A==",
        "data:image/jpeg;base64,/9j/\n4A==",
        "https://example.com/logo.png",
        "http://example.com/logo.png",
        "cid:logo@example.com",
        "images/logo.png",
    ],
)
def test_find_html_problems_accepts_safe_image_source(src):
    assert find_html_problems(f'<img alt="Logo" src="{src}">') == []


def test_validate_template_html_raises_with_every_problem():
    with pytest.raises(TemplateHtmlError) as caught:
        validate_template_html("<p>Hi</p>\n<script></script><!-- c -->")

    assert caught.value.problems == find_html_problems("<p>Hi</p>\n<script></script><!-- c -->")
    assert str(caught.value) == (
        "Line 2, column 1: The <script> tag is not allowed in custom verification email "
        "templates. Email clients don't run scripts. Remove the <script> element.\n"
        f"Line 2, column 18: {COMMENT_MESSAGE}"
    )


def test_validate_template_html_accepts_valid_template():
    assert validate_template_html(SES_SAMPLE_TEMPLATE) is None


def test_extract_inline_images_rewrites_source_to_content_id():
    content, images = extract_inline_images(f'<p>Hi</p><img alt="Logo" src="{PNG_DATA_URL}">')

    assert images == [InlineImage(images[0].content_id, "png", PNG_BYTES)]
    assert content == f'<p>Hi</p><img alt="Logo" src="cid:{images[0].content_id}">'


def test_extract_inline_images_attaches_a_repeated_image_once():
    content, images = extract_inline_images(
        f'<img src="{PNG_DATA_URL}"/><img src="{GIF_DATA_URL}"><img src="{PNG_DATA_URL}">'
    )
    png, gif = images

    assert [(png.subtype, png.data), (gif.subtype, gif.data)] == [
        ("png", PNG_BYTES),
        ("gif", GIF_BYTES),
    ]
    assert content == (
        f'<img src="cid:{png.content_id}" /><img src="cid:{gif.content_id}">'
        f'<img src="cid:{png.content_id}">'
    )


def test_extract_inline_images_names_jpg_images_jpeg():
    _, images = extract_inline_images('<img src="data:image/jpg;base64,/9j/4A==">')

    assert [(image.mime_type, image.data) for image in images] == [
        ("image/jpeg", b"\xff\xd8\xff\xe0")
    ]


def test_extract_inline_images_leaves_template_without_images_unchanged():
    assert extract_inline_images(SES_SAMPLE_TEMPLATE) == (SES_SAMPLE_TEMPLATE, [])


def test_extract_inline_images_rejects_invalid_template():
    with pytest.raises(TemplateHtmlError):
        extract_inline_images('<img src="data:image/png;base64,not*base64">')


def test_sanitize_for_preview_keeps_allowed_markup():
    content = (
        '<table width="600"><tbody><tr><td colspan="2" style="color:red">Hi</td></tr></tbody>'
        f'</table><img alt="Logo" src="{PNG_DATA_URL}"><blockquote cite="https://example.com">'
        "Q</blockquote>"
    )

    assert sanitize_for_preview(content) == content


def test_sanitize_for_preview_removes_what_ses_rejects():
    content = (
        '<p id="intro" onclick="x()">Hi<script>alert(1)</script><!-- c --></p>'
        '<a href="https://example.com">Link</a><img src="javascript:alert(1)">'
        '<img src="data:text/html;base64,PHA+"><img src="/console/logout">'
        '<q cite="javascript:alert(1)">Q</q>'
    )

    assert sanitize_for_preview(content) == (
        '<p id="preview-intro">Hi</p>Link<img><img><img><q>Q</q>'
    )


def test_sanitize_for_preview_refuses_text_nh3_is_quadratic_on():
    with pytest.raises(TemplateHtmlError) as caught:
        sanitize_for_preview("<p>" + "&amp; " * 60_000 + "</p>")

    assert caught.value.problems == [
        HtmlProblem(
            1,
            4,
            "This stretch of 360,000 characters without a tag holds 60,000 '&' or no-break "
            "space characters, too many for the console to preview. Break the text up with "
            "tags such as <p>.",
        )
    ]


# Property tests.

MARKUP_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "/",
        "!",
        "?",
        "-",
        "[",
        "]",
        "=",
        '"',
        "'",
        " ",
        "\n",
        "&",
        "#",
        ";",
        "p",
        "a",
        "x",
        "<!--",
        "-->",
        "<![CDATA[",
        "<![if mso]>",
        "<!DOCTYPE html>",
        "<?xml?>",
        "<script>",
        "</script>",
        "<style>",
        "<textarea>",
        "<title>",
        "<svg>",
        "<math>",
        "<iframe>",
        "<noscript>",
        "<img src=",
        "<blockquote cite=",
        "<a href=",
        "<p onclick=",
        "javascript:alert(1)",
        "java\tscript:",
        "&#106;avascript:",
        "vbscript:",
        "data:text/html,",
        PNG_DATA_URL,
    ]
)
MARKUP_SOUP = st.lists(MARKUP_PIECES, max_size=30).map("".join)
ARBITRARY_INPUT = st.one_of(st.text(), MARKUP_SOUP)


@PROPERTY_SETTINGS
@given(content=ARBITRARY_INPUT)
def test_find_html_problems_never_raises(content):
    problems = find_html_problems(content)

    assert len(problems) <= MAX_REPORTED_PROBLEMS + 1
    assert all(1 <= problem.line <= content.count("\n") + 1 for problem in problems)
    assert all(problem.column >= 1 for problem in problems)


VOID_TAGS = frozenset({"area", "br", "col", "hr", "img", "input"})
ATTRIBUTE_VALUE = st.text().map(html.escape)
URL_VALUE = st.text().map(lambda path: html.escape("https://example.com/" + path))


@st.composite
def allowed_element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(list(ALLOWED_TAGS)))
    names = draw(st.lists(st.sampled_from(sorted(ALLOWED_TAGS[tag])), unique=True))
    attributes = "".join(
        f' {name}="{draw(URL_VALUE if name in ("src", "cite") else ATTRIBUTE_VALUE)}"'
        for name in names
    )
    if tag in VOID_TAGS:
        return f"<{tag}{attributes}>"
    return f"<{tag}{attributes}>{''.join(draw(st.lists(children, max_size=3)))}</{tag}>"


ALLOWED_HTML = st.recursive(
    st.text().map(lambda text: html.escape(text, quote=False)),
    lambda children: allowed_element(children),
    max_leaves=10,
)


@PROPERTY_SETTINGS
@given(content=ALLOWED_HTML)
def test_find_html_problems_accepts_any_html_built_from_the_allowlist(content):
    assert find_html_problems(content) == []


class _MarkupCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _unsafe_url(value: str | None) -> bool:
    url = (value or "").replace("\t", "").replace("\n", "").strip().lower()
    if url.startswith("data:"):
        return not url.startswith(("data:image/png;", "data:image/gif;", "data:image/jpeg;"))
    return url.startswith(("javascript:", "vbscript:"))


@PROPERTY_SETTINGS
@given(content=ARBITRARY_INPUT)
def test_sanitize_for_preview_output_has_no_script_or_unsafe_url(content):
    # "javascript:" may survive as harmless text ("<p>javascript: is a scheme</p>"), so the
    # property is checked on the markup: no <script>, and no tag, attribute or URL SES rejects.
    cleaned = sanitize_for_preview(content)
    collector = _MarkupCollector()
    collector.feed(cleaned)
    collector.close()

    assert "<script" not in cleaned.lower()
    assert [tag for tag, _ in collector.tags if tag not in ALLOWED_TAGS] == []
    assert [
        (tag, name)
        for tag, attrs in collector.tags
        for name, value in attrs
        if name not in ALLOWED_TAGS[tag] or (name in ("src", "cite") and _unsafe_url(value))
    ] == []
