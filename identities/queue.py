"""The background work identity code asks for, queued by task name once the change commits.

Domain code (operations, dns_check) calls these; `identities.tasks` holds the tasks and calls
domain code, never the other way round (sesconsole.enqueue explains why by name). The
verification mail of a new email address is `verification.tasks.start_identity_verification`:
identities sit below verification and do not import it.

A new identity's first work is published off the request's path (the publisher thread of
`sesconsole.enqueue`: about half a millisecond of every create, BENCHMARKS.md "Eighth
session"). If that publish is lost, the sweeps redo the work from the rows:
`identities.tasks.requeue_lost_key_generation` (keys, after a minute), the DNS sweep (a new
domain is due for a check at once) and `verification.flows.start_lost_verifications` (an
address's link and mail). Publishing a domain's records has no such sweep, so that start is
published at commit as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from sesconsole.enqueue import enqueue_after_commit, publish_in_background_after_commit

GENERATE_EASY_DKIM_KEYS = "identities.tasks.generate_easy_dkim_keys"
START_DOMAIN_IDENTITY = "identities.tasks.start_domain_identity"
CHECK_IDENTITY_NOW = "identities.tasks.check_identity_now"
REFRESH_ZONE_SOA = "identities.tasks.refresh_zone_soa"
START_EMAIL_VERIFICATION = "verification.tasks.start_identity_verification"
RUN_DNS_PUBLISH = "identities.tasks.run_dns_publish"

TASK_NAMES = (
    GENERATE_EASY_DKIM_KEYS,
    START_DOMAIN_IDENTITY,
    CHECK_IDENTITY_NOW,
    REFRESH_ZONE_SOA,
    START_EMAIL_VERIFICATION,
    RUN_DNS_PUBLISH,
)


def easy_dkim_keys(identity_id: int) -> None:
    """Generate the Easy DKIM keys of new tokens or a new key length."""
    enqueue_after_commit(GENERATE_EASY_DKIM_KEYS, identity_id=identity_id)


def start_domain(identity_id: int, then: str) -> None:
    """A new domain's keys, then `then` ("publish", "check" or "none"): one message."""
    if then == "publish":
        enqueue_after_commit(START_DOMAIN_IDENTITY, identity_id=identity_id, then=then)
    else:
        publish_in_background_after_commit(
            START_DOMAIN_IDENTITY, identity_id=identity_id, then=then
        )


def check_now(identity_id: int) -> None:
    enqueue_after_commit(CHECK_IDENTITY_NOW, identity_id=identity_id)


def refresh_soa(identity_ids: Sequence[int]) -> None:
    enqueue_after_commit(REFRESH_ZONE_SOA, identity_ids=list(identity_ids))


def start_email_verification(identity_id: int) -> None:
    """A new email address identity's verification link and mail."""
    publish_in_background_after_commit(START_EMAIL_VERIFICATION, identity_id=identity_id)


def publish_run(run_id: int) -> None:
    """The identity page's "Publish DNS records": the worker talks to the DNS servers."""
    enqueue_after_commit(RUN_DNS_PUBLISH, run_id=run_id)
