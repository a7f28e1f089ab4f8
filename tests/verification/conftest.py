"""A real SMTP server (aiosmtpd, tests/support/smtp_server.py) on a loopback port, and helpers
to run the mail task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import Account, Region
from identities.models import Identity, KeyLength, VerificationStatus
from identities.provisioning import EasyDkim
from identities.tasks import generate_easy_dkim_keys
from sending.tasks import send_verification_email
from sesconsole.celery import app as celery_app
from templates_app.models import CustomVerificationEmailTemplate
from tests.support.smtp_server import SmtpSink, relay_for_django
from verification.models import VerificationLink


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    """aiosmtpd on 127.0.0.1:<free port>; Django's SMTP backend pointed at it."""
    with relay_for_django(settings) as sink:
        yield sink


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    """.delay() runs the task in-process: no broker in unit tests."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


def run_as_worker(link_id: int, retries: int = 0) -> None:
    """Run the task body as a worker would (so a retry raises celery's Retry instead of the
    original error), without publishing the retry to a broker."""
    send_verification_email.push_request(
        id=f"test-{link_id}-{retries}", retries=retries, is_eager=True, called_directly=False,
        args=(), kwargs={"link_id": link_id},
    )  # fmt: skip
    try:
        send_verification_email.run(link_id=link_id)
    finally:
        send_verification_email.pop_request()


@pytest.fixture
def issue_link(account: Account, region: Region) -> Callable[..., VerificationLink]:
    def issue(address: str = "sender@example.com", **kwargs: Any) -> VerificationLink:
        return VerificationLink.issue(
            account=account, region=region, email_address=address, **kwargs
        )

    return issue


@pytest.fixture
def dkim_domain(make_domain: Callable[..., Identity]) -> Identity:
    """example.com, verified, with Easy DKIM keys (1024-bit to keep tests quick)."""
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    generate_easy_dkim_keys.run(identity_id=identity.pk)
    Identity.objects.filter(pk=identity.pk).update(
        dkim_status=VerificationStatus.SUCCESS, verification_status=VerificationStatus.SUCCESS
    )
    identity.refresh_from_db()
    return identity


@pytest.fixture
def production(account: Account, region: Region) -> None:
    account.region_settings(region).grant_production_access()


@pytest.fixture
def make_template(
    account: Account, region: Region
) -> Callable[..., CustomVerificationEmailTemplate]:
    def make(name: str = "Welcome", **fields: Any) -> CustomVerificationEmailTemplate:
        values = {
            "from_email_address": "noreply@example.com",
            "subject": "Please confirm your email address",
            "content": "<html><body><h1>Ready to start?</h1><p>Click below.</p></body></html>",
            "success_redirection_url": "https://www.example.com/verifysuccess",
            "failure_redirection_url": "https://www.example.com/verifyfailure",
            **fields,
        }
        return CustomVerificationEmailTemplate.objects.create(
            account=account, region=region, name=name, **values
        )

    return make
