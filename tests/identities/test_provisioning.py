"""Creating identities (provisioning), the key task, and the identity's state-change methods."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from accounts.models import Account, Region
from identities import operations, provisioning, tasks
from identities.models import (
    BehaviorOnMxFailure,
    ConfigurationSet,
    DkimKey,
    DkimOrigin,
    Identity,
    IdentityCount,
    IdentityEvent,
    KeyLength,
    MailFromStatus,
    Tag,
    VerificationStatus,
)
from identities.provisioning import Byodkim, EasyDkim
from sesconsole.validators import (
    AlreadyExistsError,
    LimitExceededError,
    NotFoundError,
    TagPair,
    parse_byodkim_private_key,
)
from tests.support import keys
from tests.support.services import require
from verification.tasks import start_identity_verification

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = re.compile(r"^[a-z2-7]{32}\Z")


def byodkim(bits: int = 2048, selector: str = "sel2024") -> Byodkim:
    return Byodkim(
        selector=selector, key=parse_byodkim_private_key(keys.der_base64(keys.rsa_key(bits)))
    )


def reload(identity: Identity) -> Identity:
    return Identity.objects.get(pk=identity.pk)


# --- create_identity -------------------------------------------------------------------------
def test_create_identity_domain_defaults(make_domain: Callable[..., Identity]) -> None:
    identity = reload(make_domain("Example.COM"))
    assert identity.name == "example.com"
    assert identity.identity_type == "DOMAIN"
    assert identity.verification_status == VerificationStatus.PENDING
    assert identity.dkim_status == VerificationStatus.PENDING
    assert identity.dkim_origin == DkimOrigin.AWS_SES
    assert len(identity.dkim_tokens) == 3
    assert all(TOKEN.match(token) for token in identity.dkim_tokens)
    assert len(set(identity.dkim_tokens)) == 3
    assert identity.dkim_next_key_length == KeyLength.RSA_2048_BIT
    assert identity.dkim_current_key_length == ""
    assert identity.dkim_signing_enabled is True
    assert identity.feedback_forwarding_enabled is True
    assert identity.mail_from_domain == ""
    assert identity.mail_from_status == ""
    assert identity.next_check_at == identity.created_at
    assert identity.arn == "arn:aws:ses:us-east-1:111111111111:identity/example.com"
    assert [(e.kind, e.message) for e in identity.events.all()] == [
        ("created", "Domain identity created.")
    ]


def test_create_identity_domain_with_options(make_domain: Callable[..., Identity]) -> None:
    identity = reload(
        make_domain(
            "example.com",
            dkim=EasyDkim(KeyLength.RSA_1024_BIT),
            dkim_signing_enabled=False,
            mail_from_domain="mail.example.com",
            mail_from_behavior=BehaviorOnMxFailure.REJECT_MESSAGE,
        )
    )
    assert identity.dkim_next_key_length == KeyLength.RSA_1024_BIT
    assert identity.dkim_signing_enabled is False
    assert identity.mail_from_domain == "mail.example.com"
    assert identity.mail_from_behavior == BehaviorOnMxFailure.REJECT_MESSAGE
    assert identity.mail_from_status == MailFromStatus.PENDING
    assert identity.mail_from_status_changed_at == identity.created_at


def test_create_identity_email_defaults(make_email: Callable[..., Identity]) -> None:
    identity = reload(make_email("Sender@Example.com"))
    assert identity.name == "Sender@Example.com"
    assert identity.identity_type == "EMAIL_ADDRESS"
    assert identity.verification_status == VerificationStatus.PENDING
    assert identity.dkim_signing_enabled is False
    assert identity.dkim_status == VerificationStatus.NOT_STARTED
    assert identity.dkim_next_key_length == KeyLength.RSA_1024_BIT
    assert identity.dkim_origin == DkimOrigin.AWS_SES
    assert identity.dkim_tokens == []
    assert identity.feedback_forwarding_enabled is True
    assert identity.mail_from_behavior == BehaviorOnMxFailure.USE_DEFAULT_VALUE
    assert identity.next_check_at is None
    assert [e.message for e in identity.events.all()] == ["Email address identity created."]


def test_create_identity_inserts_the_identity_and_its_event_together(
    make_email: Callable[..., Identity], make_domain: Callable[..., Identity]
) -> None:
    make_domain("example.com")
    with CaptureQueriesContext(connection) as queries:
        identity = make_email("one@example.com")

    stored = Identity.objects.get(pk=identity.pk)
    fields = [field.attname for field in Identity._meta.concrete_fields]
    assert [getattr(identity, name) for name in fields] == [
        getattr(stored, name) for name in fields
    ]
    [event] = IdentityEvent.objects.filter(identity=stored)
    assert (event.kind, event.message, event.actor) == (
        "created", "Email address identity created.", "test"
    )  # fmt: skip
    assert identity._state.adding is False
    inserts = [query["sql"] for query in queries if "INSERT" in query["sql"]]
    if connection.vendor == "postgresql":
        # One round trip: both inserts (one statement) and the region's count.
        [together] = inserts
        for model in (Identity, IdentityEvent):
            assert f'INSERT INTO "{model._meta.db_table}" (' in together
        assert f'FROM "{IdentityCount._meta.db_table}"' in together
    else:  # no data-modifying WITH: one save each
        assert len(inserts) == 2


def test_create_identity_rejects_domain_differing_in_case(
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("example.com")
    with pytest.raises(AlreadyExistsError) as info:
        make_domain("EXAMPLE.com.")
    assert info.value.code == "already_exists"
    assert info.value.messages == ["example.com already exists as an identity in us-east-1."]
    assert Identity.objects.count() == 1


def test_create_identity_rejects_same_email(make_email: Callable[..., Identity]) -> None:
    make_email("sender@example.com")
    with pytest.raises(AlreadyExistsError) as info:
        make_email(" sender@example.com ")
    assert info.value.messages == ["sender@example.com already exists as an identity in us-east-1."]


def test_create_identity_emails_are_case_sensitive(make_email: Callable[..., Identity]) -> None:
    make_email("sender@example.com")
    make_email("Sender@example.com")
    assert sorted(Identity.objects.values_list("name", flat=True)) == [
        "Sender@example.com",
        "sender@example.com",
    ]


def test_create_identity_region_limit(
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
    settings: Settings,
    other_region: Region,
) -> None:
    settings.MAX_IDENTITIES_PER_REGION = 3
    make_domain("a.example.com")
    make_domain("b.example.com")
    make_email("c@example.com")
    with pytest.raises(LimitExceededError) as info:
        make_domain("d.example.com")
    assert info.value.code == "limit"
    assert info.value.messages == [
        "This account already has 3 identities in us-east-1, the most SES allows per region. "
        "Delete identities you no longer use first."
    ]
    make_domain("d.example.com", reg=other_region)  # the limit is per region
    assert Identity.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_at_the_limit_let_only_one_in(
    make_domain: Callable[..., Identity],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    account: Account,
    region: Region,
) -> None:
    require(
        connection.vendor == "postgresql",
        "PostgreSQL",
        "Run the tests with DATABASE_URL=postgres://... (scripts/test does when it answers).",
    )
    settings.MAX_IDENTITIES_PER_REGION = 2
    make_domain("first.example.com")
    counted = threading.Event()  # the held create has inserted and passed the check
    release = threading.Event()
    check = provisioning.check_identity_limit

    def check_then_hold(acct: Account, reg: Region, count: int) -> None:
        check(acct, reg, count)
        if threading.current_thread() is held:
            counted.set()
            release.wait(10)

    monkeypatch.setattr(provisioning, "check_identity_limit", check_then_hold)
    outcomes: dict[str, str] = {}

    def create(name: str) -> None:
        try:
            make_domain(name)
            outcomes[name] = "created"
        except LimitExceededError:
            outcomes[name] = "limit"
        except BaseException as exc:  # reported by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    held = threading.Thread(target=create, args=("held.example.com",))
    held.start()
    assert counted.wait(10)
    racing = threading.Thread(target=create, args=("racing.example.com",))
    racing.start()
    racing.join(0.5)
    racing_waited = racing.is_alive()  # for the held create's transaction to end
    release.set()
    held.join(10)
    racing.join(10)

    assert racing_waited
    assert outcomes == {"held.example.com": "created", "racing.example.com": "limit"}
    assert Identity.objects.filter(account=account, region=region).count() == 2


def test_identity_count_follows_every_insert_and_delete(
    make_domain: Callable[..., Identity],
    account: Account,
    region: Region,
    other_account: Account,
) -> None:
    # The triggers count rows however they come and go: operations, bulk_create, bulk delete,
    # one delete, an account's cascade.
    first = make_domain("a.example.com")
    Identity.objects.bulk_create(
        [
            Identity(account=account, region=region, identity_type="DOMAIN", name=f"{i}.example")
            for i in range(4)
        ]
    )
    make_domain("b.example.com", acct=other_account)
    after_inserts = provisioning.identity_count(account, region)
    first.delete()
    Identity.objects.filter(name__in=["0.example", "1.example"]).delete()
    after_deletes = provisioning.identity_count(account, region)
    other_account.delete()

    assert (after_inserts, after_deletes) == (5, 2)
    assert provisioning.identity_count(account, region) == 2
    assert provisioning.identity_count(other_account, region) == 0


def test_identity_count_ignores_a_create_that_failed(
    make_domain: Callable[..., Identity], settings: Settings, account: Account, region: Region
) -> None:
    settings.MAX_IDENTITIES_PER_REGION = 1
    make_domain("a.example.com")
    with pytest.raises(LimitExceededError):
        make_domain("b.example.com")
    with pytest.raises(AlreadyExistsError):
        make_domain("a.example.com")

    assert provisioning.identity_count(account, region) == 1


def test_identity_count_is_the_accounts_identities_in_the_region(
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
    account: Account,
    region: Region,
    other_account: Account,
    other_region: Region,
) -> None:
    make_domain("a.example.com")
    make_email("b@example.com")
    make_domain("c.example.com", reg=other_region)
    make_domain("d.example.com", acct=other_account)

    counts = [
        provisioning.identity_count(account, region),
        provisioning.identity_count(account, other_region),
        provisioning.identity_count(other_account, region),
    ]

    assert counts == [2, 1, 1]
    assert counts[0] == Identity.objects.in_scope(account, region).count()


def test_create_identity_same_name_in_other_region_and_account(
    make_domain: Callable[..., Identity], other_region: Region, other_account: Account
) -> None:
    first = make_domain("example.com")
    second = make_domain("example.com", reg=other_region)
    third = make_domain("example.com", acct=other_account)
    assert [i.dkim_tokens == first.dkim_tokens for i in (second, third)] == [False, False]
    assert Identity.objects.filter(name="example.com").count() == 3


def test_create_identity_configuration_set_must_exist_in_region(
    make_domain: Callable[..., Identity], account: Account, other_region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=other_region, name="marketing")
    with pytest.raises(NotFoundError) as info:
        make_domain("example.com", configuration_set_name="marketing")
    assert info.value.code == "not_found"
    assert info.value.messages == [
        "The configuration set marketing doesn't exist in us-east-1. Create it first, or choose "
        "one that exists in this region."
    ]
    assert Identity.objects.count() == 0


def test_create_identity_with_configuration_set(
    make_email: Callable[..., Identity], account: Account, region: Region
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="marketing")
    identity = make_email("a@example.com", configuration_set_name="marketing")
    assert reload(identity).configuration_set_name == "marketing"


def test_create_identity_configuration_set_of_other_account_not_found(
    make_domain: Callable[..., Identity], other_account: Account, region: Region
) -> None:
    ConfigurationSet.objects.create(account=other_account, region=region, name="marketing")
    with pytest.raises(NotFoundError):
        make_domain("example.com", configuration_set_name="marketing")


def test_create_identity_saves_tags(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", tags=[TagPair("env", "prod"), TagPair("team", "")])
    assert list(identity.tags.values_list("key", "value")) == [("env", "prod"), ("team", "")]


def test_create_identity_byodkim_stores_encrypted_key(
    make_domain: Callable[..., Identity],
) -> None:
    spec = byodkim(2048)
    identity = reload(make_domain("example.com", dkim=spec))
    assert identity.dkim_origin == DkimOrigin.EXTERNAL
    assert identity.dkim_tokens == ["sel2024"]
    assert identity.dkim_status == VerificationStatus.PENDING
    assert identity.dkim_current_key_length == KeyLength.RSA_2048_BIT
    [key] = identity.dkim_keys.all()
    assert (key.selector, key.key_size) == ("sel2024", 2048)
    assert key.public_key == keys.spki_base64(keys.rsa_key(2048))
    assert key.private_key_encrypted != spec.key.base64_der
    assert spec.key.base64_der[:40] not in key.private_key_encrypted
    assert key.private_key_base64() == spec.key.base64_der


def test_create_identity_byodkim_1024_current_length(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=byodkim(1024))
    assert identity.dkim_current_key_length == KeyLength.RSA_1024_BIT


def test_create_identity_queues_key_generation_after_commit(
    make_domain: Callable[..., Identity],
    django_capture_on_commit_callbacks: Any,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        identity = make_domain("example.com")
    assert queued_tasks() == []  # nothing is queued before the transaction commits
    for callback in callbacks:
        callback()
    assert queued_tasks() == [
        ("identities.tasks.start_domain_identity", {"identity_id": identity.pk, "then": "check"}),
    ]


def test_create_identity_byodkim_and_email_queue_no_key_generation(
    make_domain: Callable[..., Identity],
    make_email: Callable[..., Identity],
    django_capture_on_commit_callbacks: Any,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        domain = make_domain("example.com", dkim=byodkim(1024))
        email = make_email("a@example.com")
    assert queued_tasks() == [
        ("identities.tasks.start_domain_identity", {"identity_id": domain.pk, "then": "check"}),
        ("verification.tasks.start_identity_verification", {"identity_id": email.pk}),
    ]
    # The address's task issues its link and queues the mail; run again, it does nothing.
    with django_capture_on_commit_callbacks(execute=True):
        start_identity_verification.run(identity_id=email.pk)
        start_identity_verification.run(identity_id=email.pk)
    link = email.verification_links.get()
    assert queued_tasks() == [("sending.tasks.send_verification_email", {"link_id": link.pk})]


def test_start_domain_identity_generates_keys_then_checks_dns(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    # The real task body; with no DNS server answering, the check records a DNS error.
    tasks.start_domain_identity.run(identity_id=identity.pk, then="check")
    identity.refresh_from_db()
    assert identity.dkim_keys.count() == 3
    assert identity.last_checked_at is not None


def test_start_domain_identity_none_only_generates_keys(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    tasks.start_domain_identity.run(identity_id=identity.pk, then="none")
    identity.refresh_from_db()
    assert (identity.dkim_keys.count(), identity.last_checked_at) == (3, None)


def test_delete_identities_removes_dependents(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=byodkim(1024), tags=[TagPair("k", "v")])
    assert operations.delete_identities([identity], actor="test") == 1
    assert (Identity.objects.count(), DkimKey.objects.count(), Tag.objects.count()) == (0, 0, 0)
    assert IdentityEvent.objects.count() == 0


# --- the Easy DKIM key task ------------------------------------------------------------------
def test_generate_easy_dkim_keys_creates_three_keys(
    make_domain: Callable[..., Identity], time_machine: Any
) -> None:
    time_machine.move_to(T0, tick=False)
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    identity = reload(identity)
    assert sorted(identity.dkim_keys.values_list("selector", "key_size")) == sorted(
        (token, 1024) for token in identity.dkim_tokens
    )
    assert identity.dkim_current_key_length == KeyLength.RSA_1024_BIT
    assert identity.dkim_last_key_generation_at == T0


def test_generate_easy_dkim_keys_is_idempotent(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    first = sorted(DkimKey.objects.values_list("pk", flat=True))
    generated_at = reload(identity).dkim_last_key_generation_at
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    assert sorted(DkimKey.objects.values_list("pk", flat=True)) == first
    assert reload(identity).dkim_last_key_generation_at == generated_at


def test_generate_easy_dkim_keys_uses_2048_by_default(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    assert list(DkimKey.objects.values_list("key_size", flat=True)) == [2048, 2048, 2048]
    assert reload(identity).dkim_current_key_length == KeyLength.RSA_2048_BIT


def test_generate_easy_dkim_keys_regenerates_after_length_change(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    old = set(DkimKey.objects.values_list("pk", flat=True))
    identity = reload(identity)
    identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT)
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    assert set(DkimKey.objects.values_list("pk", flat=True)) & old == set()
    assert list(DkimKey.objects.values_list("key_size", flat=True)) == [2048, 2048, 2048]
    assert reload(identity).dkim_current_key_length == KeyLength.RSA_2048_BIT


def test_generate_easy_dkim_keys_skips_missing_and_byodkim(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com", dkim=byodkim(1024))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    tasks.generate_easy_dkim_keys.run(identity_id=999_999)
    assert list(DkimKey.objects.values_list("selector", flat=True)) == ["sel2024"]


# --- key length changes ----------------------------------------------------------------------
def test_change_easy_dkim_key_length_rejects_same_length(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    with pytest.raises(ValidationError) as info:
        identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT, now=T0)
    assert info.value.code == "key_length_rule"
    assert info.value.messages == [
        "The DKIM signing key already uses RSA_2048_BIT. Choose the other length."
    ]


def test_change_easy_dkim_key_length_once_per_24_hours(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    identity.change_easy_dkim_key_length(KeyLength.RSA_1024_BIT, now=T0)
    with pytest.raises(ValidationError) as info:
        identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT, now=T0 + timedelta(hours=23))
    assert info.value.messages == [
        "The DKIM signing key length can be changed once every 24 hours. You can change it "
        "again after 2025-03-02 12:00 UTC."
    ]
    identity = reload(identity)
    assert (identity.dkim_next_key_length, identity.dkim_key_length_changed_at) == (
        KeyLength.RSA_1024_BIT,
        T0,
    )


def test_change_easy_dkim_key_length_first_downgrade_allowed(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT, now=T0)
    identity.change_easy_dkim_key_length(KeyLength.RSA_1024_BIT, now=T0 + timedelta(hours=1))
    assert reload(identity).dkim_next_key_length == KeyLength.RSA_1024_BIT
    with pytest.raises(ValidationError):
        identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT, now=T0 + timedelta(hours=2))


def test_change_easy_dkim_key_length_allowed_after_24_hours(
    make_domain: Callable[..., Identity], time_machine: Any
) -> None:
    identity = make_domain("example.com")
    time_machine.move_to(T0, tick=False)
    identity.change_easy_dkim_key_length(KeyLength.RSA_1024_BIT)
    time_machine.move_to(T0 + timedelta(hours=24), tick=False)
    identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT)
    identity = reload(identity)
    assert identity.dkim_next_key_length == KeyLength.RSA_2048_BIT
    assert identity.dkim_key_length_changed_at == T0 + timedelta(hours=24)


def test_change_easy_dkim_key_length_keeps_verification(
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("example.com")
    identity.mark_verified(now=T0)
    Identity.objects.filter(pk=identity.pk).update(dkim_status=VerificationStatus.SUCCESS)
    identity = reload(identity)
    identity.change_easy_dkim_key_length(KeyLength.RSA_1024_BIT, now=T0 + timedelta(days=1))
    identity = reload(identity)
    assert identity.dkim_status == VerificationStatus.PENDING
    assert identity.dkim_status_changed_at == T0 + timedelta(days=1)
    assert identity.verification_status == VerificationStatus.SUCCESS
    assert identity.verified_at == T0


def test_change_easy_dkim_key_length_rejects_byodkim(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=byodkim(1024))
    with pytest.raises(ValidationError) as info:
        identity.change_easy_dkim_key_length(KeyLength.RSA_2048_BIT)
    assert info.value.messages == ["The key length applies to Easy DKIM only."]


# --- switching DKIM origin -------------------------------------------------------------------
def test_switch_to_byodkim(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=EasyDkim(KeyLength.RSA_1024_BIT))
    tasks.generate_easy_dkim_keys.run(identity_id=identity.pk)
    identity = reload(identity)
    spec = byodkim(1024, selector="mine")
    identity.switch_to_byodkim(
        "mine", spec.key.base64_der, spec.key.public_key_base64, spec.key.key_size, now=T0
    )
    identity = reload(identity)
    assert identity.dkim_origin == DkimOrigin.EXTERNAL
    assert identity.dkim_tokens == ["mine"]
    assert identity.dkim_status == VerificationStatus.PENDING
    assert identity.dkim_status_changed_at == T0
    assert identity.dkim_current_key_length == KeyLength.RSA_1024_BIT
    [key] = identity.dkim_keys.all()
    assert (key.selector, key.private_key_base64()) == ("mine", spec.key.base64_der)


def test_switch_to_easy_dkim(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com", dkim=byodkim(1024))
    identity.switch_to_easy_dkim(KeyLength.RSA_2048_BIT, now=T0)
    identity = reload(identity)
    assert identity.dkim_origin == DkimOrigin.AWS_SES
    assert len(identity.dkim_tokens) == 3
    assert all(TOKEN.match(token) for token in identity.dkim_tokens)
    assert identity.dkim_next_key_length == KeyLength.RSA_2048_BIT
    assert identity.dkim_current_key_length == ""
    assert identity.dkim_status == VerificationStatus.PENDING
    assert identity.dkim_keys.count() == 0


def test_set_dkim_signing(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    identity.set_dkim_signing(False)
    assert reload(identity).dkim_signing_enabled is False


# --- MAIL FROM, verification -----------------------------------------------------------------
def test_set_mail_from_marks_pending(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    identity.set_mail_from("mail.example.com", BehaviorOnMxFailure.REJECT_MESSAGE, now=T0)
    identity = reload(identity)
    assert (
        identity.mail_from_domain,
        identity.mail_from_behavior,
        identity.mail_from_status,
        identity.mail_from_status_changed_at,
    ) == ("mail.example.com", BehaviorOnMxFailure.REJECT_MESSAGE, MailFromStatus.PENDING, T0)


def test_set_mail_from_same_domain_keeps_status(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    identity.set_mail_from("mail.example.com", BehaviorOnMxFailure.USE_DEFAULT_VALUE, now=T0)
    Identity.objects.filter(pk=identity.pk).update(mail_from_status=MailFromStatus.SUCCESS)
    identity = reload(identity)
    identity.set_mail_from(
        "mail.example.com", BehaviorOnMxFailure.REJECT_MESSAGE, now=T0 + timedelta(hours=1)
    )
    identity = reload(identity)
    assert (identity.mail_from_status, identity.mail_from_behavior) == (
        MailFromStatus.SUCCESS,
        BehaviorOnMxFailure.REJECT_MESSAGE,
    )


def test_clear_mail_from(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain(
        "example.com",
        mail_from_domain="mail.example.com",
        mail_from_behavior=BehaviorOnMxFailure.REJECT_MESSAGE,
    )
    identity.clear_mail_from()
    identity = reload(identity)
    assert (
        identity.mail_from_domain,
        identity.mail_from_status,
        identity.mail_from_status_changed_at,
        identity.mail_from_behavior,
    ) == ("", "", None, BehaviorOnMxFailure.USE_DEFAULT_VALUE)


def test_mark_verified(make_email: Callable[..., Identity]) -> None:
    identity = make_email("a@example.com")
    identity.mark_verified(now=T0)
    identity.mark_verified(now=T0 + timedelta(hours=1))
    identity = reload(identity)
    assert identity.verification_status == VerificationStatus.SUCCESS
    assert identity.verified_for_sending is True
    assert identity.verification_status_changed_at == T0
    assert identity.verified_at == T0
    assert identity.last_success_at == T0 + timedelta(hours=1)


def test_set_configuration_set_and_feedback(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("example.com")
    identity.set_configuration_set("marketing")
    identity.set_feedback_forwarding(False)
    identity = reload(identity)
    assert (identity.configuration_set_name, identity.feedback_forwarding_enabled) == (
        "marketing",
        False,
    )
