"""SES's rules for the HTML of custom verification email templates.

SES rejects a template whose HTML uses a tag or attribute outside its allowlist, contains a
comment, or is 10 MB or larger (FAQ Q5), and turns base64 images into attachments (FAQ Q4).
This module checks those rules with messages that say where and what to fix, cleans HTML for
the console preview, and pulls embedded images out for the mailer. It is plain Python (no
Django) so the form, the model and the API all call the same functions.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import html
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import islice

import nh3

from .html_limits import measure_structure


def _attrs(spec_cell: str) -> frozenset[str]:
    return frozenset(name.strip() for name in spec_cell.split(","))


# The "Allowed attributes" table of SES FAQ Q5, copied row by row. It has no <a> tag and no href
# attribute anywhere: SES appends the verification link itself, so templates can't carry links.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "abbr": _attrs("class, id, style, title"),
    "acronym": _attrs("class, id, style, title"),
    "address": _attrs("class, id, style, title"),
    "area": _attrs("class, id, style, title"),
    "b": _attrs("class, id, style, title"),
    "bdo": _attrs("class, id, style, title"),
    "big": _attrs("class, id, style, title"),
    "blockquote": _attrs("cite, class, id, style, title"),
    "body": _attrs("class, id, style, title"),
    "br": _attrs("class, id, style, title"),
    "button": _attrs("class, id, style, title"),
    "caption": _attrs("class, id, style, title"),
    "center": _attrs("class, id, style, title"),
    "cite": _attrs("class, id, style, title"),
    "code": _attrs("class, id, style, title"),
    "col": _attrs("class, id, span, style, title, width"),
    "colgroup": _attrs("class, id, span, style, title, width"),
    "dd": _attrs("class, id, style, title"),
    "del": _attrs("class, id, style, title"),
    "dfn": _attrs("class, id, style, title"),
    "dir": _attrs("class, id, style, title"),
    "div": _attrs("class, id, style, title"),
    "dl": _attrs("class, id, style, title"),
    "dt": _attrs("class, id, style, title"),
    "em": _attrs("class, id, style, title"),
    "fieldset": _attrs("class, id, style, title"),
    "font": _attrs("class, id, style, title"),
    "form": _attrs("class, id, style, title"),
    "h1": _attrs("class, id, style, title"),
    "h2": _attrs("class, id, style, title"),
    "h3": _attrs("class, id, style, title"),
    "h4": _attrs("class, id, style, title"),
    "h5": _attrs("class, id, style, title"),
    "h6": _attrs("class, id, style, title"),
    "head": _attrs("class, id, style, title"),
    "hr": _attrs("class, id, style, title"),
    "html": _attrs("class, id, style, title"),
    "i": _attrs("class, id, style, title"),
    "img": _attrs("align, alt, class, height, id, src, style, title, width"),
    "input": _attrs("class, id, style, title"),
    "ins": _attrs("class, id, style, title"),
    "kbd": _attrs("class, id, style, title"),
    "label": _attrs("class, id, style, title"),
    "legend": _attrs("class, id, style, title"),
    "li": _attrs("class, id, style, title"),
    "map": _attrs("class, id, style, title"),
    "menu": _attrs("class, id, style, title"),
    "ol": _attrs("class, id, start, style, title, type"),
    "optgroup": _attrs("class, id, style, title"),
    "option": _attrs("class, id, style, title"),
    "p": _attrs("class, id, style, title"),
    "pre": _attrs("class, id, style, title"),
    "q": _attrs("cite, class, id, style, title"),
    "s": _attrs("class, id, style, title"),
    "samp": _attrs("class, id, style, title"),
    "select": _attrs("class, id, style, title"),
    "small": _attrs("class, id, style, title"),
    "span": _attrs("class, id, style, title"),
    "strike": _attrs("class, id, style, title"),
    "strong": _attrs("class, id, style, title"),
    "sub": _attrs("class, id, style, title"),
    "sup": _attrs("class, id, style, title"),
    "table": _attrs("class, id, style, summary, title, width"),
    "tbody": _attrs("class, id, style, title"),
    "td": _attrs("abbr, axis, class, colspan, id, rowspan, style, title, width"),
    "textarea": _attrs("class, id, style, title"),
    "tfoot": _attrs("class, id, style, title"),
    "th": _attrs("abbr, axis, class, colspan, id, rowspan, scope, style, title, width"),
    "thead": _attrs("class, id, style, title"),
    "tr": _attrs("class, id, style, title"),
    "tt": _attrs("class, id, style, title"),
    "u": _attrs("class, id, style, title"),
    "ul": _attrs("class, id, style, title, type"),
    "var": _attrs("class, id, style, title"),
}

# SES FAQ Q5 says templates "can't exceed 10 MB"; the API reference for TemplateContent says the
# size "must be less than 10 MB". The stricter reading wins: exactly 10 MiB is rejected.
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024

# A template with thousands of bad tags would otherwise produce megabytes of messages.
MAX_REPORTED_PROBLEMS = 20

# The attributes in the table that hold a URL (img src, blockquote and q cite).
_URL_ATTRIBUTES = frozenset({"src", "cite"})
_SAFE_URL_SCHEMES = frozenset({"http", "https"})
_IMAGE_SUBTYPES = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif"}

# A '<' that is not closed by '>' before the next '<' or the end of the text. Each match scans
# only up to the next '<' or '>', so the whole search is linear. html.parser itself rescans to
# the end of the input for every unclosed tag ("<a " * k at 40 kB took over 10 s), so input
# with such a '<' must never reach it.
_UNCLOSED_TAG = re.compile(r"<[^<>]*(?=<|\Z)")
# Declarations (<!DOCTYPE ...>, <![CDATA[...>, <![if mso]>) and processing instructions
# (<?xml ...?>). Once _UNCLOSED_TAG found nothing, each one ends at its first '>'.
_DECLARATION = re.compile(r"<[!?][^<>]*>")
# <!DOCTYPE html> (and the XHTML 1.0 doctypes email tools write) is not content: it adds no
# tag, text or link to the message, and SES's own examples simply start at <html>. Rejecting it
# would only make people delete a harmless first line, so it is the one declaration allowed.
_HTML_DOCTYPE = re.compile(r"<!doctype\s+html(?:\s[^<>]*)?>", re.IGNORECASE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_NEWLINE = re.compile(r"[^\n]")

# Browsers drop ASCII tabs and newlines anywhere in a URL and C0 controls and spaces around it
# ("java\tscript:" runs as javascript:), so URLs are checked the way a browser reads them.
_URL_IGNORED = re.compile(r"[\t\n\r]")
_URL_STRIPPED = "".join(chr(code) for code in range(0x21))
_URL_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif);base64,(.*)", re.IGNORECASE | re.DOTALL)
_WHITESPACE = re.compile(r"\s+")
_PREVIEW_RUN = re.compile(r"[^<>]+")
_PREVIEW_WORK_LIMIT = 2_500_000_000

_TAG_HINTS = {
    "a": (
        "SES adds the verification link to the end of the message itself, so a template "
        "can't contain links. Remove the <a> tag and keep its text."
    ),
    "style": 'Move the CSS into style attributes, for example <p style="color:#333">.',
    "link": 'Move the CSS into style attributes, for example <p style="color:#333">.',
    "script": "Email clients don't run scripts. Remove the <script> element.",
}
_DEFAULT_TAG_HINT = (
    "Remove it, or use an allowed tag such as <div>, <p>, <span>, <table> or <img>; the SES "
    "documentation lists every allowed tag."
)


@dataclass(frozen=True)
class HtmlProblem:
    """One rule the template breaks; `message` says what is wrong and how to fix it."""

    line: int
    column: int  # 1-based, counted in characters as an editor shows them
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}, column {self.column}: {self.message}"


class TemplateHtmlError(ValueError):
    def __init__(self, problems: list[HtmlProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class InlineImage:
    """An image taken out of a data: URL, to be attached with this Content-ID."""

    content_id: str
    subtype: str  # png, jpeg or gif
    data: bytes

    @property
    def mime_type(self) -> str:
        return f"image/{self.subtype}"


@dataclass
class _ProblemLog:
    """Keeps the first problems of one kind, in document order, and counts all of them."""

    kept: list[HtmlProblem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: HtmlProblem) -> None:
        self.total += 1
        if not self.full:
            self.kept.append(problem)

    @property
    def full(self) -> bool:
        # One beyond the limit, so the summary entry can point at the first unlisted problem.
        return len(self.kept) > MAX_REPORTED_PROBLEMS


class _Positions:
    """Turns an index into (line, column), counting lines the way html.parser does ("\\n")."""

    def __init__(self, text: str) -> None:
        self._line_starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def locate(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, index)
        return line, index - self._line_starts[line - 1] + 1

    def index(self, line: int, offset: int) -> int:
        return self._line_starts[line - 1] + offset


def find_html_problems(content: str) -> list[HtmlProblem]:
    """Return every way `content` breaks SES's template HTML rules, in document order.

    1. A template of 10 MB or more gets one size problem and is not read further.
    2. Comments are reported and blanked out (same length, same newlines, so positions hold).
    3. A '<' never closed by '>' is reported and html.parser is not run at all: it is
       quadratic on such input.
    3b. More than MAX_TEMPLATE_TAGS tags or MAX_NESTING_DEPTH levels: one problem, no parser.
    4. Declarations and processing instructions are reported (all but <!DOCTYPE html>) and
       blanked out, so html.parser never meets markup it can fail on.
    5. html.parser checks every start tag against the allowlist, and URLs and embedded images.
    At most MAX_REPORTED_PROBLEMS are listed, followed by one entry counting the rest.
    """
    size = len(content.encode("utf-8", "surrogatepass"))
    if size >= MAX_TEMPLATE_BYTES:
        return [_size_problem(size)]
    positions = _Positions(content)
    logs = [_lone_surrogates(content, positions)]
    text, comments = _blank_comments(content, positions)
    logs.append(comments)
    unclosed = _unclosed_tags(text, positions)
    if unclosed.total:
        return _merge([*logs, unclosed])
    structure = measure_structure(text)
    if structure.problem is not None:
        line, column = positions.locate(structure.stopped_at)
        return _merge([*logs, _ProblemLog([HtmlProblem(line, column, structure.problem)], 1)])
    text, declarations = _blank_declarations(text, positions)
    logs.append(declarations)
    validator = _Validator()
    validator.feed(text)
    validator.close()
    return _merge([*logs, validator.problems])


def validate_template_html(content: str) -> None:
    """Raise TemplateHtmlError listing the problems if SES would reject `content`."""
    problems = find_html_problems(content)
    if problems:
        raise TemplateHtmlError(problems)


def sanitize_for_preview(content: str) -> str:
    """Clean `content` with the SES allowlist so the console can show it.

    nh3 parses a fragment, so <html>, <head> and <body> are dropped (their content stays).
    Show the result in a sandboxed iframe: SES allows style attributes and form controls,
    which could otherwise restyle or submit the console page around the preview. Raises
    TemplateHtmlError for the rare input that nh3 would take minutes to clean (see
    _preview_cost_problem).
    """
    problem = _preview_cost_problem(content)
    if problem is not None:
        raise TemplateHtmlError([problem])
    return nh3.clean(
        content,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attributes) for tag, attributes in ALLOWED_TAGS.items()},
        attribute_filter=_preview_attribute_filter,
        url_schemes={"http", "https", "cid", "data"},
        # A relative src would be fetched from the console itself; in an email it means nothing.
        url_relative="deny",
        # Ids from the template must not collide with the console's own (htmx targets).
        id_prefix="preview-",
        strip_comments=True,
        link_rel=None,
    )


def preview(content: str) -> tuple[str, str]:
    """(sanitised HTML, "") for the console's preview, or ("", why it can't be shown)."""
    try:
        return sanitize_for_preview(content), ""
    except TemplateHtmlError as exc:
        return "", str(exc)


def extract_inline_images(content: str) -> tuple[str, list[InlineImage]]:
    """Replace each embedded base64 image with a cid: reference to an attachment.

    SES turns images embedded as data:image/...;base64 into attachments (FAQ Q4); the mailer
    attaches the returned images with these Content-IDs. The same image embedded twice becomes
    one attachment. Raises TemplateHtmlError if the template breaks the rules, so html.parser
    only ever reads input that passed the guards in find_html_problems.
    """
    validate_template_html(content)
    positions = _Positions(content)
    text, _ = _blank_declarations(content, positions)
    collector = _ImageCollector(positions)
    collector.feed(text)
    collector.close()
    pieces: list[str] = []
    images: dict[str, InlineImage] = {}
    done = 0
    for start, end, attrs, self_closing in collector.tags:
        pieces.append(content[done:start])
        pieces.append(_img_tag(_with_cid_sources(attrs, images), self_closing))
        done = end
    pieces.append(content[done:])
    return "".join(pieces), list(images.values())


class _Validator(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems = _ProblemLog()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, offset = self.getpos()
        for message in _tag_problems(tag, attrs):
            self.problems.add(HtmlProblem(line, offset + 1, message))

    def handle_comment(self, data: str) -> None:
        # Real comments were blanked out before parsing; html.parser also reads malformed end
        # tags such as "</3>" as comments.
        line, offset = self.getpos()
        self.problems.add(HtmlProblem(line, offset + 1, _invalid_markup_message(data)))


class _ImageCollector(HTMLParser):
    """Finds <img> tags whose src is an embedded image, with their start and end index."""

    def __init__(self, positions: _Positions) -> None:
        super().__init__(convert_charrefs=True)
        self._positions = positions
        self.tags: list[tuple[int, int, list[tuple[str, str | None]], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._collect(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._collect(tag, attrs, self_closing=True)

    def _collect(self, tag: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> None:
        if tag != "img" or not any(_data_image(name, value) for name, value in attrs):
            return
        start = self._positions.index(*self.getpos())
        raw = self.get_starttag_text() or ""
        self.tags.append((start, start + len(raw), attrs, self_closing))


def _tag_problems(tag: str, attrs: list[tuple[str, str | None]]) -> list[str]:
    allowed = ALLOWED_TAGS.get(tag)
    if allowed is None:
        hint = _TAG_HINTS.get(tag, _DEFAULT_TAG_HINT)
        return [
            f"The {_shorten(f'<{tag}>')} tag is not allowed in custom verification email "
            f"templates. {hint}"
        ]
    messages: list[str] = []
    for name, value in attrs:
        if name not in allowed:
            messages.append(_attribute_message(tag, name, allowed))
        elif name in _URL_ATTRIBUTES and value is not None:
            messages.extend(_url_problems(tag, name, value))
    # The same attribute written twice is one problem, not two.
    return list(dict.fromkeys(messages))


def _attribute_message(tag: str, name: str, allowed: frozenset[str]) -> str:
    names = sorted(allowed)
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return (
        f'The "{_shorten(name)}" attribute is not allowed on the <{tag}> tag. Remove it; <{tag}> '
        f"accepts only {listed}."
    )


def _url_problems(tag: str, attribute: str, value: str) -> list[str]:
    problem = _url_scheme_problem(tag, attribute, value)
    if problem is not None:
        return [problem]
    image = _DATA_IMAGE.fullmatch(_normalise_url(value))
    if image is None:
        return []
    data = _decode_base64(image.group(2))
    if data is None:
        return [
            f"The image data in the {attribute} attribute of <{tag}> is not valid base64. "
            "Encode the image again, for example with: base64 -i imagefile.png | tr -d '\\n'"
        ]
    if not data:
        return [
            f"The {attribute} attribute of <{tag}> embeds an empty image. Put the base64 "
            "encoded image after the comma, or remove the <img> tag."
        ]
    return []


def _url_scheme_problem(tag: str, attribute: str, value: str) -> str | None:
    url = _normalise_url(value)
    match = _URL_SCHEME.match(url)
    if match is None:
        return None  # a relative URL: nothing to run
    scheme = match.group(1).lower()
    if scheme in _SAFE_URL_SCHEMES:
        return None
    if tag == "img" and attribute == "src":
        if scheme == "cid" or _DATA_IMAGE.fullmatch(url):
            return None
        if scheme == "data":
            return (
                "The src attribute of <img> holds a data: URL that is not a base64 PNG, JPEG "
                "or GIF image. Embed images as data:image/png;base64,... (or jpeg, jpg, gif), "
                "or link to them with an https:// address."
            )
    return (
        f'The {attribute} attribute of <{tag}> uses the "{scheme}:" scheme, which is not '
        "allowed. Use an https:// or http:// address."
    )


def _normalise_url(value: str) -> str:
    return _URL_IGNORED.sub("", value.strip(_URL_STRIPPED))


def _decode_base64(payload: str) -> bytes | None:
    # `base64 -i` output may have been pasted with line breaks or spaces; they are not data.
    try:
        return base64.b64decode(_WHITESPACE.sub("", payload), validate=True)
    except binascii.Error:
        return None


def _data_image(name: str, value: str | None) -> re.Match[str] | None:
    if name != "src" or value is None:
        return None
    return _DATA_IMAGE.fullmatch(_normalise_url(value))


def _with_cid_sources(
    attrs: list[tuple[str, str | None]], images: dict[str, InlineImage]
) -> list[tuple[str, str | None]]:
    rewritten: list[tuple[str, str | None]] = []
    for name, value in attrs:
        match = _data_image(name, value)
        if match is not None:
            payload = _WHITESPACE.sub("", match.group(2))
            subtype = _IMAGE_SUBTYPES[match.group(1).lower()]
            key = f"{subtype},{payload}"
            if key not in images:
                # Validation already proved the payload decodes.
                data = base64.b64decode(payload)
                images[key] = InlineImage(f"{uuid.uuid4().hex}@sesconsole", subtype, data)
            value = f"cid:{images[key].content_id}"
        rewritten.append((name, value))
    return rewritten


def _img_tag(attrs: list[tuple[str, str | None]], self_closing: bool) -> str:
    parts = ["<img"]
    for name, value in attrs:
        parts.append(f" {name}" if value is None else f' {name}="{html.escape(value)}"')
    parts.append(" />" if self_closing else ">")
    return "".join(parts)


def _preview_attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks url_schemes only for src (ammonia treats cite as plain text) and can't tell
    # an image data: URL from any other, so the validator's URL rule decides for both.
    if attribute in _URL_ATTRIBUTES and _url_scheme_problem(tag, attribute, value):
        return None
    return value


def _preview_cost_problem(content: str) -> HtmlProblem | None:
    # A stored template from before the structure limits may break them: never parse it.
    structure = measure_structure(content)
    if structure.problem is not None:
        line, column = _Positions(content).locate(structure.stopped_at)
        return HtmlProblem(line, column, structure.problem)
    # nh3 0.3.8 (ammonia 4.2) is quadratic in the number of '&' and no-break space characters
    # in one text node or attribute value that has no '<' or '>' (or '"') in it: 1 MB of "x&"
    # took 5 s, 1 MB of U+00A0 14 s. Real templates stay far below this bound; a run of N
    # characters with M of them costs up to N * M * 4e-11 s, so the bound keeps a preview
    # under about 0.1 s. Splitting the input on '<' and '>' over-counts entities such as
    # &lt;, which only makes the check stricter.
    for run in _PREVIEW_RUN.finditer(content):
        text = run.group()
        slow_characters = text.count("&") + text.count("\xa0")
        if len(text) * slow_characters > _PREVIEW_WORK_LIMIT:
            line, column = _Positions(content).locate(run.start())
            return HtmlProblem(
                line,
                column,
                f"This stretch of {len(text):,} characters without a tag holds "
                f"{slow_characters:,} '&' or no-break space characters, too many for the "
                "console to preview. Break the text up with tags such as <p>.",
            )
    return None


def _size_problem(size: int) -> HtmlProblem:
    return HtmlProblem(
        1,
        1,
        f"The template is {size:,} bytes; custom verification email templates must be "
        f"smaller than 10 MB ({MAX_TEMPLATE_BYTES:,} bytes). Make it smaller, for example by "
        "linking to large images with https:// instead of embedding them.",
    )


def _lone_surrogates(content: str, positions: _Positions) -> _ProblemLog:
    log = _ProblemLog()
    for match in _LONE_SURROGATE.finditer(content):
        log.add(
            HtmlProblem(
                *positions.locate(match.start()),
                "This character is half of a UTF-16 surrogate pair and can't be sent in an "
                "email. Remove it, or replace it with the character you meant.",
            )
        )
    return log


def _blank_comments(content: str, positions: _Positions) -> tuple[str, _ProblemLog]:
    # A manual find loop rather than a regex: "<!--.*?-->" rescans to the end for every
    # "<!--" without a "-->", which is quadratic.
    log = _ProblemLog()
    pieces: list[str] = []
    done = 0
    start = content.find("<!--")
    while start != -1:
        close = content.find("-->", start + 4)
        end = len(content) if close == -1 else close + 3
        log.add(HtmlProblem(*positions.locate(start), _comment_message(content, start, close)))
        pieces.append(content[done:start])
        pieces.append(_NOT_NEWLINE.sub(" ", content[start:end]))
        done = end
        start = content.find("<!--", end) if close != -1 else -1
    pieces.append(content[done:])
    return "".join(pieces), log


def _comment_message(content: str, start: int, close: int) -> str:
    if close == -1:
        return (
            "This comment is never closed with '-->', and comments are not allowed in "
            "custom verification email templates. Remove it."
        )
    if content.startswith("<!--[if", start):
        return (
            "Conditional comments such as <!--[if mso]> are not allowed in custom "
            "verification email templates. Remove the comment, keeping any content that all "
            "email clients should show outside it."
        )
    return "Comments are not allowed in custom verification email templates. Remove the comment."


def _unclosed_tags(text: str, positions: _Positions) -> _ProblemLog:
    log = _ProblemLog()
    matches = _UNCLOSED_TAG.finditer(text)
    for match in matches:
        if log.full:
            # Only the count matters now; this keeps "<" * 1_000_000 fast.
            log.total += 1 + sum(1 for _ in matches)
            break
        log.add(
            HtmlProblem(
                *positions.locate(match.start()),
                "This tag is never closed with '>' before the next '<' or the end of the "
                "template. Close it with '>', or write &lt; for a literal less-than sign in "
                "text or in an attribute value.",
            )
        )
    return log


def _blank_declarations(text: str, positions: _Positions) -> tuple[str, _ProblemLog]:
    log = _ProblemLog()

    def blank(match: re.Match[str]) -> str:
        markup = match.group()
        if not _HTML_DOCTYPE.fullmatch(markup):
            log.add(HtmlProblem(*positions.locate(match.start()), _declaration_message(markup)))
        return _NOT_NEWLINE.sub(" ", markup)

    return _DECLARATION.sub(blank, text), log


def _declaration_message(markup: str) -> str:
    shown = _shorten(markup)
    if markup.startswith("<?"):
        return (
            f"Processing instructions such as {shown} are not allowed in custom verification "
            "email templates. Remove it."
        )
    if markup.upper().startswith("<![CDATA["):
        return (
            f"CDATA sections such as {shown} are not allowed in custom verification email "
            "templates. Remove the <![CDATA[ and ]]> markers and write < as &lt; and & as &amp;."
        )
    if markup.startswith("<!["):
        return (
            f"Conditional sections such as {shown} are not allowed in custom verification "
            "email templates. Remove it."
        )
    return (
        f"The declaration {shown} is not allowed in custom verification email templates. "
        "Remove it; the only declaration allowed is <!DOCTYPE html>."
    )


def _invalid_markup_message(data: str) -> str:
    return (
        f"{_shorten('</' + data + '>')} is not a valid tag. Remove it, or write &lt; for a "
        "literal less-than sign."
    )


def _shorten(markup: str) -> str:
    return markup if len(markup) <= 40 else markup[:37] + "..."


def _merge(logs: Iterable[_ProblemLog]) -> list[HtmlProblem]:
    """Merge the kinds of problems into document order and cap the list."""
    logs = list(logs)
    ordered: Iterator[HtmlProblem] = heapq.merge(
        *(log.kept for log in logs), key=lambda problem: (problem.line, problem.column)
    )
    listed = list(islice(ordered, MAX_REPORTED_PROBLEMS))
    unlisted = sum(log.total for log in logs) - len(listed)
    if unlisted > 0:
        first = next(ordered)
        listed.append(
            HtmlProblem(
                first.line,
                first.column,
                f"...and {unlisted:,} more problems from here on. Fix the ones listed above "
                "and check the template again to see the rest.",
            )
        )
    return listed
