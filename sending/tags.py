"""EmailTags / X-SES-MESSAGE-TAGS: SES's rules and AWS's exact texts (ses-sending §3).

Names: ASCII letters, digits, `_` and `-`; values also `.` and `@` (AWS's message allows them,
unlike the model's text). At most 255 characters each (the model says 256, AWS's message 255:
UNVERIFIED which is exact; 255 is accepted and AWS's message quoted). `ses:feedback-id-a` and
`ses:feedback-id-b` pass despite the colon. The name is checked before the value, and tags
before the sender.
"""

from __future__ import annotations

import re

from .errors import RefusalKind, SendRefused

MAX_TAG_LENGTH = 255
_NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")
_VALUE = re.compile(r"^[A-Za-z0-9_.@-]+\Z")
RESERVED_NAMES = frozenset({"ses:feedback-id-a", "ses:feedback-id-b"})


def _refuse(message: str) -> SendRefused:
    return SendRefused(RefusalKind.INVALID_PARAMETER, message)


def check(tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
    for name, value in tags:
        if not name:
            raise _refuse("The tag name must be specified.")
        if len(name) > MAX_TAG_LENGTH:
            raise _refuse("Tag name cannot exceed 255 characters.")
        if name not in RESERVED_NAMES and not _NAME.match(name):
            raise _refuse(
                f"Invalid tag name {name}: only alphanumeric ASCII characters, '_',  '-' are "
                "allowed."
            )
        if not value:
            raise _refuse("The tag value must be specified.")
        if len(value) > MAX_TAG_LENGTH:
            raise _refuse("Tag value cannot exceed 255 characters.")
        if not _VALUE.match(value):
            raise _refuse(
                f"Invalid tag value {value}: only alphanumeric ASCII characters, '_',  '-' , "
                "'.', '@' are allowed."
            )
    return list(tags)
