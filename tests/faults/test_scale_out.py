"""Scale-out: two web processes and two Celery workers (plus one beat) on PostgreSQL + Redis.

500 domain identities are verified concurrently, each checked by one worker at a time; a
worker killed with SIGKILL in the middle of a sweep leaves its leases to expire, and its
identities are checked again by the other worker — nothing lost, nothing recorded twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.stack import (
    VERIFIED_EVENTS,
    Stack,
    check_overlaps,
    create_domains,
    dkim_records,
    lease_history,
    status_counts,
    status_events,
)
from tests.support.celery_worker import wait_for

pytestmark = pytest.mark.services

SCALE = 500
KILLED = 60
CREATE_LOG_LINE = '"POST /v2/email/identities HTTP'  # in gunicorn's access log


def test_500_domains_verified_by_two_workers_each_checked_once_at_a_time(stack: Stack) -> None:
    names = [f"d{i:03d}.scale.example" for i in range(SCALE)]
    posts_before = [web.log().count(CREATE_LOG_LINE) for web in stack.webs]
    # The workers pause while users create the identities, so that the records are in DNS by
    # the first check; then checks queued at creation and beat's sweeps race for the same rows.
    with stack.workers.paused():
        tokens = create_domains(stack, names)
        stack.knot.add_many(dkim_records(tokens))
    ids = list(stack.identity_ids(names).values())
    assert len(ids) == SCALE

    wait_for(
        lambda: status_counts(stack, ids) == {"SUCCESS": SCALE}, 120, "500 identities verified"
    )
    wait_for(
        lambda: (
            stack.value(
                "SELECT count(*) FROM identities_dkimkey WHERE identity_id = ANY(%s) AND key_size = 1024",
                (ids,),
            )
            == 3 * SCALE
        ),
        60,
        "three Easy DKIM keys per identity",
    )

    rows = stack.rows(
        "SELECT id, dkim_status, dkim_current_key_length, check_lease_until, check_count "
        "FROM identities_identity WHERE id = ANY(%s)",
        (ids,),
    )
    assert {(r[1], r[2], r[3]) for r in rows} == {("SUCCESS", "RSA_1024_BIT", None)}
    history = lease_history(stack, ids)
    assert check_overlaps(history) == []
    # check_count counts the checks since the last status change: the verifying check and any
    # later "check now" (never at the same time, as the lease history shows).
    recorded = {i: sum(row.checked for row in history[i]) for i in ids}
    assert {r[0]: r[4] for r in rows} == recorded
    assert status_events(stack, ids) == dict.fromkeys(ids, VERIFIED_EVENTS)
    assert (
        stack.value(
            "SELECT count(*) FROM identities_recordcheck WHERE identity_id = ANY(%s) "
            "AND status = 'SUCCESS'",
            (ids,),
        )
        == 3 * SCALE
    )
    # Both web processes took half the creates; both workers checked identities.
    posts = [
        web.log().count(CREATE_LOG_LINE) - n
        for web, n in zip(stack.webs, posts_before, strict=True)
    ]
    assert posts == [SCALE // 2, SCALE // 2]
    for name in ("a", "b"):
        assert "identities.tasks.check_identit" in stack.workers.log(name)


def test_worker_killed_mid_sweep_its_leased_identities_are_verified_once(stack: Stack) -> None:
    names = [f"k{i:02d}.killed.example" for i in range(KILLED)]
    tokens = create_domains(stack, names, per_web_threads=2)
    ids = list(stack.identity_ids(names).values())
    # Their first check runs at once and finds no records: pending, checked again in a minute.
    wait_for(
        lambda: (
            stack.value(
                "SELECT count(*) FROM identities_identity WHERE id = ANY(%s) "
                "AND last_checked_at IS NOT NULL AND check_lease_until IS NULL",
                (ids,),
            )
            == KILLED
        ),
        60,
        "the first checks",
    )
    stack.knot.add_many(dkim_records(tokens))
    log_sizes = {name: stack.workers.log_path(name).stat().st_size for name in ("a", "b")}
    stack.dns.hold()  # the next check's lookups get no answer until released
    victim = ""
    try:
        # As if the minute of back-off had passed: all due, so the next sweep leases them in
        # one chunk, and one worker starts checking it.
        stack.rows(
            "UPDATE identities_identity SET next_check_at = now() WHERE id = ANY(%s)", (ids,)
        )

        def checking() -> str | None:
            """The worker that took the sweep's chunk, once its lookups are held."""
            return next(
                (
                    name
                    for name in ("a", "b")
                    if "identities.tasks.check_identities["
                    in _read_from(stack.workers.log_path(name), log_sizes[name])
                ),
                None,
            )

        wait_for(lambda: stack.dns.held > 0 and checking(), 30, "a worker to check the chunk")
        victim = checking() or ""
        assert (
            stack.value(
                "SELECT count(*) FROM identities_identity WHERE id = ANY(%s) "
                "AND check_lease_until > now()",
                (ids,),
            )
            == KILLED
        )
        stack.workers.kill(victim)
    finally:
        stack.dns.release()
    try:
        # Nobody checks them until their leases expire (DNS_CHECK_LEASE_SECONDS); then a sweep
        # leases them again and the other worker verifies them.
        wait_for(lambda: status_counts(stack, ids) == {"SUCCESS": KILLED}, 90, "the other worker")
    finally:
        stack.workers.start(victim)

    history = lease_history(stack, ids)
    assert check_overlaps(history) == []
    taken_over = {
        i: sum(1 for r in history[i] if not r.checked and r.new_lease and r.old_lease) for i in ids
    }
    assert taken_over == dict.fromkeys(ids, 1)  # the dead worker's lease, once each
    assert status_events(stack, ids) == dict.fromkeys(ids, VERIFIED_EVENTS)
    assert stack.rows(
        "SELECT DISTINCT check_lease_until, check_count FROM identities_identity "
        "WHERE id = ANY(%s)",
        (ids,),
    ) == [(None, 1)]


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")
