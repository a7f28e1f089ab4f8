"""Faults in the services around sesconsole, on the real stack: Redis, SMTP, DNS, PostgreSQL.

Nothing a user saved is lost while a service is away, nothing is marked failed because of an
outage, and everything resumes on its own once the service is back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from botocore.exceptions import BotoCoreError, ClientError
from celery import Celery

from tests.faults.stack import (
    VERIFIED_EVENTS,
    Stack,
    create_domains,
    dkim_records,
    status_events,
)
from tests.support.celery_worker import wait_for

pytestmark = pytest.mark.services

CREATE = "/us-east-1/verified-identities/create/"
LIST = "/us-east-1/verified-identities/"
QUICK = 5.0  # seconds: the most a request may take while a service is down


def detail(name: str) -> str:
    return f"/us-east-1/verified-identities/{name}/"


def create_form(**fields: str) -> dict[str, Any]:
    return {
        "dkim_type": "AWS_SES",
        "key_length": "RSA_1024_BIT",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
        "dkim_signing_enabled": "on",
        "tag_key": [""],
        "tag_value": [""],
        **fields,
    }


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def identity(stack: Stack, name: str) -> dict[str, Any]:
    columns = [
        "id", "verification_status", "dkim_status", "verification_error",
        "dkim_current_key_length", "last_checked_at", "next_check_at", "check_lease_until",
    ]  # fmt: skip
    row = stack.rows(
        f"SELECT {', '.join(columns)} FROM identities_identity WHERE name = %s", (name,)
    )
    return dict(zip(columns, row[0], strict=True)) if row else {}


def link_of(stack: Stack, address: str) -> dict[str, Any]:
    columns = ["mail_status", "attempts", "mail_error"]
    row = stack.rows(
        f"SELECT {', '.join(columns)} FROM verification_verificationlink "
        "WHERE email_address = %s ORDER BY id DESC LIMIT 1",
        (address,),
    )
    return dict(zip(columns, row[0], strict=True)) if row else {}


def mail_to(stack: Stack, address: str) -> EmailMessage | None:
    return next((m for m in stack.smtp.messages if m["To"] == address), None)


def verification_url(stack: Stack, message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    base = stack.env["PUBLIC_BASE_URL"]
    found = re.search(re.escape(base) + r"/\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


# --- Redis ------------------------------------------------------------------------------------
def test_redis_down_console_and_api_still_save_identities_and_sweeps_catch_up(
    stack: Stack,
) -> None:
    console, api = stack.console(0), stack.ses(1)
    console_domain, api_domain = "console.redis-down.example", "api.redis-down.example"
    console_address, api_address = "console@redis-down.example", "api@redis-down.example"
    stack.redis.stop()
    try:
        answers = [
            timed(lambda: console.post_form(CREATE, create_form(identity_type="DOMAIN", domain=console_domain))),
            timed(lambda: console.post_form(CREATE, create_form(identity_type="EMAIL_ADDRESS", email=console_address))),
            timed(lambda: api.create_email_identity(EmailIdentity=api_domain, DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"})),
            timed(lambda: api.create_email_identity(EmailIdentity=api_address)),
        ]  # fmt: skip
        assert [a[0].status_code for a in answers[:2]] == [302, 302]
        assert [a[0].headers["Location"] for a in answers[:2]] == [
            detail(console_domain),
            detail(console_address),
        ]
        assert [a[0]["ResponseMetadata"]["HTTPStatusCode"] for a in answers[2:]] == [200, 200]
        assert max(seconds for _, seconds in answers) < QUICK, answers
        # Saved, and readable while the broker is still down.
        tokens = {
            name: api.get_email_identity(EmailIdentity=name)["DkimAttributes"]["Tokens"]
            for name in (console_domain, api_domain)
        }
        names = (console_domain, api_domain, console_address, api_address)
        assert [identity(stack, n)["verification_status"] for n in names] == ["PENDING"] * 4
        # An address's link is issued by the task its creation queues: none while Redis is
        # down. The beat job below issues it once the identity has waited 15 minutes.
        assert [link_of(stack, a) for a in (console_address, api_address)] == [{}, {}]
        stack.knot.add_many(dkim_records(tokens))
        # As if the outage had lasted a quarter of an hour: old enough for the repairs
        # (lost key generation after a minute, lost verification starts after 15 minutes).
        stack.rows(
            "UPDATE identities_identity SET created_at = created_at - interval '16 minutes' "
            "WHERE name = ANY(%s)",
            (list(names),),
        )
    finally:
        stack.redis.start()

    # The next beat sweep checks the domains and queues their lost key generation.
    def caught_up(name: str) -> bool:
        row = identity(stack, name)
        return row["verification_status"] == "SUCCESS" and bool(row["dkim_current_key_length"])

    wait_for(lambda: caught_up(console_domain) and caught_up(api_domain), 60, "the sweeps")
    # Beat starts lost verifications every five minutes; queue its job now rather than wait.
    # A fresh connection: kombu's shared pools may hold one to the Redis that was stopped.
    app = Celery("faults-beat-job", broker=stack.redis.url())
    try:
        with app.connection_for_write() as connection:
            app.send_task("verification.tasks.expire_verification_requests", connection=connection)
    finally:
        app.close()
    wait_for(
        lambda: mail_to(stack, console_address) and mail_to(stack, api_address),
        30,
        "the mails queued again",
    )
    for address in (console_address, api_address):
        message = mail_to(stack, address)
        assert message is not None
        verification_url(stack, message)
        assert identity(stack, address)["verification_status"] == "PENDING"
    # The web processes publish again without a restart: a new identity gets its keys at once.
    api.create_email_identity(
        EmailIdentity="after.redis-down.example",
        DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    wait_for(
        lambda: identity(stack, "after.redis-down.example")["dkim_current_key_length"],
        30,
        "keys for an identity created after Redis came back",
    )


# --- SMTP -------------------------------------------------------------------------------------
def test_smtp_down_verification_mail_is_retried_and_delivered_when_it_returns(
    stack: Stack,
) -> None:
    address = "sender@smtp-down.example"
    stack.smtp.stop()
    try:
        stack.ses(0).create_email_identity(EmailIdentity=address)
        # The worker tried, failed on the refused connection, and scheduled a retry.
        wait_for(
            lambda: (
                link_of(stack, address).get("attempts") == 1
                and link_of(stack, address)["mail_status"] == "QUEUED"
                and link_of(stack, address)["mail_error"]
            ),
            30,
            "the first attempt",
        )
        assert mail_to(stack, address) is None
    finally:
        stack.smtp.start()
    wait_for(lambda: mail_to(stack, address), 40, "the retry to deliver the mail")
    message = mail_to(stack, address)
    assert message is not None
    url = verification_url(stack, message)
    assert (link_of(stack, address)["mail_status"], link_of(stack, address)["attempts"]) == (
        "SENT",
        2,
    )
    assert identity(stack, address)["verification_status"] == "PENDING"
    # Not lost: the link in the retried mail verifies the address.
    assert requests.get(url, timeout=10).status_code == 200
    assert identity(stack, address)["verification_status"] == "SUCCESS"


# --- DNS --------------------------------------------------------------------------------------
def test_dns_server_down_is_a_temporary_failure_never_failed(stack: Stack) -> None:
    verified, pending = "verified.dns-down.example", "pending.dns-down.example"
    with stack.workers.paused():  # the first checks must find the published records
        tokens = create_domains(stack, [verified, pending], per_web_threads=1)
        stack.knot.add_many(dkim_records({verified: tokens[verified]}))
    wait_for(
        lambda: (
            identity(stack, verified)["verification_status"] == "SUCCESS"
            and identity(stack, pending)["last_checked_at"] is not None
        ),
        30,
        "the first checks",
    )
    console = stack.console(1)

    def check_now(name: str) -> None:
        response = console.post_form(detail(name), {}, action=f"{detail(name)}check/")
        assert response.status_code == 302

    def checked_after(name: str, moment: Any) -> bool:
        row = identity(stack, name)
        return row["last_checked_at"] > moment and row["check_lease_until"] is None

    stack.knot.stop()
    try:
        stopped_at = stack.value("SELECT now()")
        check_now(verified)
        check_now(pending)
        wait_for(
            lambda: checked_after(verified, stopped_at) and checked_after(pending, stopped_at),
            30,
            "the checks against the stopped DNS server",
        )
        during = {name: identity(stack, name) for name in (verified, pending)}
    finally:
        stack.knot.start()
    assert [(r["verification_status"], r["dkim_status"]) for r in during.values()] == [
        ("TEMPORARY_FAILURE", "TEMPORARY_FAILURE"),
        ("PENDING", "PENDING"),
    ]
    assert {r["verification_error"] for r in during.values()} == {"DNS_SERVER_ERROR"}
    for row in during.values():  # retried in minutes (DNS_ERROR_RETRY), not given up on
        assert 240 < (row["next_check_at"] - row["last_checked_at"]).total_seconds() <= 300

    restarted_at = stack.value("SELECT now()")
    check_now(verified)
    wait_for(lambda: checked_after(verified, restarted_at), 30, "the check after DNS returned")
    assert identity(stack, verified)["verification_status"] == "SUCCESS"
    ids = [identity(stack, name)["id"] for name in (verified, pending)]
    assert status_events(stack, ids) == {
        ids[0]: [
            *VERIFIED_EVENTS,
            "DKIM status changed from Verified to Temporary failure.",
            "Identity status changed from Verified to Temporary failure.",
            "DKIM status changed from Temporary failure to Verified.",
            "Identity status changed from Temporary failure to Verified.",
        ],
    }


# --- PostgreSQL -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    started: float
    kind: str  # "page" or "api"
    web: int
    status: int
    body: str


def test_postgres_restart_under_load_fails_cleanly_and_recovers_without_app_restart(
    stack: Stack,
) -> None:
    name = "load.pg-restart.example"
    create_domains(stack, [name], per_web_threads=1)
    webs = range(len(stack.webs))
    consoles = [stack.console(web) for web in webs]
    clients = [stack.ses(web) for web in webs for _ in range(2)]
    web_pids = [web.process.pid for web in stack.webs]
    outcomes: list[Outcome] = []
    done = threading.Event()

    def load(thread: int) -> None:
        web = thread % len(stack.webs)
        session = requests.Session()
        session.cookies.update(consoles[web].session.cookies)
        client = clients[thread]
        sent = 0
        while not done.is_set():
            started, sent = time.monotonic(), sent + 1
            kind = "page" if sent % 2 else "api"
            try:
                if kind == "page":
                    response = session.get(stack.webs[web].url + LIST, timeout=10)
                    outcome = Outcome(started, kind, web, response.status_code, response.text)
                else:
                    answer = client.get_email_identity(EmailIdentity=name)
                    outcome = Outcome(started, kind, web, 200, answer["IdentityType"])
            except ClientError as exc:
                error = exc.response["Error"]
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                outcome = Outcome(
                    started, kind, web, status, f"{error['Code']}: {error['Message']}"
                )
            except (requests.RequestException, BotoCoreError) as exc:  # no HTTP answer at all
                outcome = Outcome(started, kind, web, 0, repr(exc))
            outcomes.append(outcome)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(outcomes) >= 40, 20, "the load to get going")
        stack.postgres.stop()
        wait_for(lambda: sum(o.status != 200 for o in outcomes) >= 8, 10, "failed requests")
        stack.postgres.start()
        back_at = time.monotonic()
        wait_for(
            lambda: sum(o.started > back_at for o in outcomes) >= 40, 20, "requests after restart"
        )
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=15)

    failed = [o for o in outcomes if o.status != 200]
    assert {(o.kind, o.status) for o in failed} <= {("page", 503), ("api", 500)}
    for outcome in failed:
        assert "Traceback" not in outcome.body
        if outcome.kind == "page":
            assert "The database is unavailable" in outcome.body
        else:
            assert outcome.body.startswith("InternalServiceErrorException: ")
    after = [o for o in outcomes if o.started > back_at]
    assert [o for o in after if o.status != 200] == []
    assert {(o.kind, o.web) for o in after} == {("page", 0), ("page", 1), ("api", 0), ("api", 1)}
    assert [web.process.poll() for web in stack.webs] == [None, None]
    assert [web.process.pid for web in stack.webs] == web_pids


def test_postgres_restarted_while_idle_next_requests_and_tasks_succeed(stack: Stack) -> None:
    # Every process holds a persistent connection that the restart closed; none of them has
    # noticed yet. Each must check before using it (DATABASE_CONN_HEALTH_CHECKS) rather than
    # fail the first request or task after the restart.
    consoles = [stack.console(web) for web in range(len(stack.webs))]
    stack.postgres.restart()
    pages = [console.get(LIST).status_code for console in consoles for _ in range(6)]
    assert pages == [200] * 12
    names = ["one.idle-restart.example", "two.idle-restart.example"]
    for web, name in enumerate(names):
        stack.ses(web).create_email_identity(
            EmailIdentity=name, DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}
        )
    wait_for(
        lambda: all(identity(stack, name)["dkim_current_key_length"] for name in names),
        30,
        "both workers to generate keys after the restart",
    )
