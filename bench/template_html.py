"""Benchmark: the worst-case custom verification template HTML through the validator and the
preview sanitiser (issue 14 §3).

    .venv/bin/python bench/template_html.py [--repeat 3]

No database, no server: it times `html_rules.find_html_problems` and
`html_rules.sanitize_for_preview` in this process on

1. the deepest and largest template the limits accept (MAX_NESTING_DEPTH nested <div>
   holding MAX_TEMPLATE_TAGS tags in all): the most work a stored template can cost;
2. the probe's inputs the limits refuse (60,000 nested <div>; 9 MB of <br>): the cost of
   saying no, which must stay linear in the size;
3. a realistic newsletter-sized template as the baseline.
One line per case: best of --repeat, in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from templates_app import html_rules
from templates_app.html_limits import MAX_NESTING_DEPTH, MAX_TEMPLATE_TAGS


def worst_accepted() -> str:
    depth = MAX_NESTING_DEPTH - 1  # the <p> at the bottom is the last level
    # Each <p>x</p> at the bottom is two tags; the <div> opening and closing tags are 2 x depth.
    paragraphs = (MAX_TEMPLATE_TAGS - 2 * depth) // 2
    return "<div>" * depth + "<p>x</p>" * paragraphs + "</div>" * depth


def realistic() -> str:
    row = '<tr><td style="padding:8px"><p class="t">Hello <b>there</b>, welcome.</p></td></tr>'
    return f"<html><body><table>{row * 150}</table></body></html>"


CASES: dict[str, Callable[[], str]] = {
    "worst accepted (depth x tags at the limits)": worst_accepted,
    "refused: 60,000 nested <div>": lambda: "<div>" * 60_000,
    "refused: 9 MB of <br>": lambda: "<br>" * (9 * 1024 * 1024 // 4),
    "realistic (150 table rows)": realistic,
}


def best_ms(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, build in CASES.items():
        content = build()
        problems = html_rules.find_html_problems(content)
        validate = best_ms(partial(html_rules.find_html_problems, content), args.repeat)
        preview = best_ms(partial(html_rules.preview, content), args.repeat)
        verdict = "refused" if problems else "accepted"
        print(
            f"{name}: {len(content):,} chars, {verdict}; validate {validate:.1f} ms, "
            f"preview {preview:.1f} ms"
        )


if __name__ == "__main__":
    main()
