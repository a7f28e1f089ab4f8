"""How big a template's HTML may be before any parser reads it: tags and nesting depth.

Kept apart from html_rules (the SES rules) because these limits are sesconsole's own: they
bound the work the validator and the preview sanitiser can be made to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Tags and nesting depth a template may have. SES documents no such limits for custom
# verification templates (only the 10 MB), so these are ours, far above real templates (a long
# newsletter has a few thousand tags nested a few dozen deep). They bound the parsers: the
# preview sanitiser (html5ever through nh3) walks the open-element stack at each tag, so its
# work grows with tags x depth (60,000 nested <div> took 11.6 s), and the validator's with
# the tag count (9 MB of <br> took 10 s). The bound on that work is MAX_TEMPLATE_TAGS x
# MAX_NESTING_DEPTH, and both are checked by one linear scan before any parser runs.
MAX_TEMPLATE_TAGS = 20_000
MAX_NESTING_DEPTH = 400
# Elements that never hold content, so they never deepen the nesting.
VOID_TAGS = frozenset({"area", "br", "col", "hr", "img", "input"})
# A start or end tag as the scan counts it (comments and declarations are not tags).
_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/<>]*)[^<>]*?(/?)>")


@dataclass(frozen=True)
class Structure:
    """What the structure scan saw: `tags` counted (the scan's work: it stops one past the
    limit), the deepest nesting, and the problem with where it stopped, if any."""

    tags: int
    depth: int
    problem: str | None = None
    stopped_at: int = 0


def measure_structure(text: str) -> Structure:
    """Count tags and nesting depth in one pass with a regex, stopping at the first limit.

    Depth is the open elements a parser would hold: a start tag opens one (not a void or
    self-closed one), an end tag closes back to its latest open match (an end tag nothing
    matches is ignored, as parsers do). Only meant for text without unclosed '<'.
    """
    tags = depth = deepest = 0
    open_names: list[str] = []
    for match in _TAG.finditer(text):
        tags += 1
        if tags > MAX_TEMPLATE_TAGS:
            return Structure(tags, deepest, _too_many_tags_message(), match.start())
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if name in open_names:
                while open_names.pop() != name:
                    pass
        elif not self_closing and name not in VOID_TAGS:
            open_names.append(name)
        depth = len(open_names)
        if depth > MAX_NESTING_DEPTH:
            return Structure(tags, depth, _too_deep_message(), match.start())
        deepest = max(deepest, depth)
    return Structure(tags, deepest)


def _too_many_tags_message() -> str:
    return (
        f"The template has more than {MAX_TEMPLATE_TAGS:,} tags, the most sesconsole accepts. "
        "A verification email needs far fewer: shorten the content."
    )


def _too_deep_message() -> str:
    return (
        f"Elements here are nested more than {MAX_NESTING_DEPTH} levels deep, the most "
        "sesconsole accepts. Close elements you no longer need, or flatten the layout."
    )
