"""How large a request body may be: small everywhere, SES's message limits for the sends.

Django refuses any body over DATA_UPLOAD_MAX_MEMORY_SIZE (12 MB, sized for custom verification
templates) the first time `request.body` is read, and has no per-view limit. The send
operations need more: SES takes a 40 MB message through the v2 API and 10 MB through v1
(ses-sending.md §3), and the message travels base64-encoded in the JSON or form body.
`read_body` applies the operation's limit instead of Django's, and refuses a body over it
before reading it, with a message that says the limit.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from sending.operations import MAX_MESSAGE_SIZE, V1_MAX_MESSAGE_SIZE

MB = 1024 * 1024
# The other members of a send (recipients, tags, ARNs, subject) next to the message itself.
OTHER_MEMBERS = MB
# v2 SendEmail: JSON with the MIME message (or the attachments) in base64, 4/3 of its size.
V2_SEND_BODY_LIMIT = MAX_MESSAGE_SIZE * 4 // 3 + OTHER_MEMBERS
# v1 SendRawEmail: base64 too, then form-encoded, where each "+", "/" and "=" becomes three
# characters ("%2B"): three times the base64 text at worst.
V1_SEND_BODY_LIMIT = V1_MAX_MESSAGE_SIZE * 4 // 3 * 3 + OTHER_MEMBERS


class BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The request body has {size:,} bytes and at most {limit:,} are accepted.")
        self.size = size
        self.limit = limit


def site_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def read_body(request: HttpRequest, limit: int | None = None) -> bytes:
    """The body, or BodyTooLarge when its Content-Length is over `limit` (default: the site's)."""
    limit = site_limit() if limit is None else limit
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    if size > limit:
        raise BodyTooLarge(size, limit)
    if size <= site_limit():
        return request.body
    # Over Django's limit but within the operation's: read it as `HttpRequest.body` does and
    # keep it where that property looks, so the signature check hashes these very bytes.
    request._body = request.read()  # type: ignore[attr-defined]
    return bytes(request._body)  # type: ignore[attr-defined]
