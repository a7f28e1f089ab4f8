"""Documents of user HTML (template previews, Mailbox messages) for a sandboxed iframe.

They are served at their own URL rather than in a `srcdoc`, which would inherit the
console's policy: the console allows no inline style, but email HTML is mostly inline style.
Their own policy is stricter everywhere else: no script at all, nothing fetched but
images, no forms, a sandbox even when opened outside the iframe, and framed only by the
console itself.
"""

from __future__ import annotations

from django.http import HttpResponse

POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
)


def sandboxed_html(body: str, *, sandbox_flags: str = "") -> HttpResponse:
    response = HttpResponse(
        f'<!doctype html><meta charset="utf-8">{body}', content_type="text/html; charset=utf-8"
    )
    response["Content-Security-Policy"] = f"{POLICY} {sandbox_flags}".rstrip()
    response["X-Frame-Options"] = "SAMEORIGIN"  # the console's own page frames it
    response["Cache-Control"] = "private, no-store"
    return response
