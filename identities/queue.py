"""The background work identity code asks for, queued by task name once the change commits.

Domain code (operations, dns_check) calls these; `identities.tasks` holds the tasks and calls
domain code, never the other way round (sesconsole.enqueue explains why by name). The
verification mail of a new email address is `verification.tasks.start_identity_verification`:
identities sit below verification and do not import it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sesconsole.enqueue import enqueue_after_commit

GENERATE_EASY_DKIM_KEYS = "identities.tasks.generate_easy_dkim_keys"
START_DOMAIN_IDENTITY = "identities.tasks.start_domain_identity"
CHECK_IDENTITY_NOW = "identities.tasks.check_identity_now"
REFRESH_ZONE_SOA = "identities.tasks.refresh_zone_soa"
START_EMAIL_VERIFICATION = "verification.tasks.start_identity_verification"

TASK_NAMES = (
    GENERATE_EASY_DKIM_KEYS,
    START_DOMAIN_IDENTITY,
    CHECK_IDENTITY_NOW,
    REFRESH_ZONE_SOA,
    START_EMAIL_VERIFICATION,
)


def easy_dkim_keys(identity_id: int) -> None:
    """Generate the Easy DKIM keys of new tokens or a new key length."""
    enqueue_after_commit(GENERATE_EASY_DKIM_KEYS, identity_id=identity_id)


def start_domain(identity_id: int, then: str) -> None:
    """A new domain's keys, then `then` ("publish", "check" or "none"): one message."""
    enqueue_after_commit(START_DOMAIN_IDENTITY, identity_id=identity_id, then=then)


def check_now(identity_id: int) -> None:
    enqueue_after_commit(CHECK_IDENTITY_NOW, identity_id=identity_id)


def refresh_soa(identity_ids: Sequence[int]) -> None:
    enqueue_after_commit(REFRESH_ZONE_SOA, identity_ids=list(identity_ids))


def start_email_verification(identity_id: int) -> None:
    """A new email address identity's verification link and mail."""
    enqueue_after_commit(START_EMAIL_VERIFICATION, identity_id=identity_id)
