"""A bare WSGI app answering `{}` as an SES JSON response: the floor of bench/api.py.

No Django, no database: what gunicorn, HTTP and the boto3 client cost by themselves. If even
this app cannot reach a target ratio against moto with the same client, the target is bounded
by the client and server stack, not by sesconsole's code. Only the benchmark serves it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

BODY = b"{}"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(BODY))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [BODY]
