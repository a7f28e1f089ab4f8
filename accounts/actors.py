"""Who made a change, as history events and sent messages record it.

One string per actor, readable as it stands in the History table's "By" column. Every entry
point builds its actor here, so the History of an identity tells apart a console user, an API
access key, an operator in admin, an SMTP session and the system's own jobs.
"""

from __future__ import annotations

from typing import Protocol


class _User(Protocol):
    def get_username(self) -> str: ...


def console(user: _User) -> str:
    """A signed-in console user: their username, as History has always shown it."""
    return user.get_username()


def admin(user: _User) -> str:
    """An operator acting in Django admin."""
    return f"admin {user.get_username()}"


def api(access_key_id: str) -> str:
    """An API call (v2 or v1), by the access key id that signed it."""
    return f"API {access_key_id}"


def smtp(access_key_id: str) -> str:
    """An SMTP session, by the access key id whose SMTP credentials it authenticated with."""
    return f"SMTP {access_key_id}"


def system(job: str) -> str:
    """sesconsole itself: a task, beat, the DNS engine (`job` says which)."""
    return f"system ({job})"
