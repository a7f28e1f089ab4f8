"""DEED replicas through the v2 API: CreateEmailIdentity with DomainSigningAttributesOrigin
AWS_SES_<REGION> follows the same domain's identity in that region, verified without new DNS
records; its REPLICATION_* failures; and the v1 view of a replica."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account, Region
from identities import operations, records
from identities.models import Identity
from identities.provisioning import Byodkim
from identities.tasks import generate_easy_dkim_keys
from sesconsole.validators import parse_byodkim_private_key
from tests.identities import dns_helpers
from tests.identities.dns_helpers import publish_expected, run_check
from tests.support import dns_fixtures, keys
from tests.support.knot import KnotServer
from verification.mailer import signer_for_address

from .conftest import KeyPair, error_of

knot_server = dns_fixtures.knot_server
dns_zone = dns_fixtures.dns_zone
knot_dns = dns_helpers.knot_dns

FROM_EU = {"DomainSigningAttributesOrigin": "AWS_SES_EU_WEST_1"}


@pytest.fixture
def eu(make_client: Callable[..., Any], owner_key: KeyPair) -> Any:
    """The owner's sesv2 client in eu-west-1, the parent region."""
    return make_client(owner_key, region="eu-west-1")


def identity(account: Account, region: str, name: str = "example.com") -> Identity:
    return Identity.objects.get(account=account, region_id=region, name=name)


def test_replica_uses_the_parents_tokens_and_publishes_nothing(
    ses: Any, eu: Any, account: Account
) -> None:
    parent = eu.create_email_identity(EmailIdentity="example.com")

    created = ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)

    assert created["DkimAttributes"]["Tokens"] == parent["DkimAttributes"]["Tokens"]
    assert created["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES_EU_WEST_1"
    assert created["DkimAttributes"]["Status"] == "PENDING"
    assert records.expected_records(identity(account, "us-east-1")) == []


def test_replica_is_verified_when_its_parent_is(
    ses: Any, eu: Any, account: Account, knot_dns: KnotServer
) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)
    parent = identity(account, "eu-west-1")
    publish_expected(knot_dns, parent)

    run_check(parent)

    replica = ses.get_email_identity(EmailIdentity="example.com")
    assert (replica["VerificationStatus"], replica["VerifiedForSendingStatus"]) == (
        "SUCCESS",
        True,
    )
    assert replica["DkimAttributes"]["Status"] == "SUCCESS"


def test_replica_follows_its_parents_key_length(ses: Any, eu: Any, account: Account) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)

    eu.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com",
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )

    dkim = ses.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]
    assert dkim["NextSigningKeyLength"] == "RSA_1024_BIT"


@pytest.mark.parametrize(
    ("origin", "error_type"),
    [
        ("AWS_SES_EU_WEST_1", "REPLICATION_PRIMARY_NOT_FOUND"),
        ("AWS_SES_US_EAST_1", "REPLICATION_PRIMARY_INVALID_REGION"),
    ],
)
def test_replica_failures_are_verification_failures(ses: Any, origin: str, error_type: str) -> None:
    ses.create_email_identity(
        EmailIdentity="example.com",
        DkimSigningAttributes={"DomainSigningAttributesOrigin": origin},
    )

    replica = ses.get_email_identity(EmailIdentity="example.com")
    assert (replica["VerificationStatus"], replica["VerificationInfo"]["ErrorType"]) == (
        "FAILED",
        error_type,
    )


def test_byodkim_parent_is_not_supported(
    ses: Any, make_domain: Callable[..., Identity], other_region: Region
) -> None:
    key = parse_byodkim_private_key(keys.der_base64(keys.rsa_key(2048)))
    make_domain("example.com", reg=other_region, dkim=Byodkim(selector="sel", key=key))

    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)

    info = ses.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert info["ErrorType"] == "REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED"


def test_replica_of_a_replica_is_not_supported(
    ses: Any, make_client: Callable[..., Any], owner_key: KeyPair, eu: Any
) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)
    west = make_client(owner_key, region="us-west-2")

    west.create_email_identity(
        EmailIdentity="example.com",
        DkimSigningAttributes={"DomainSigningAttributesOrigin": "AWS_SES_US_EAST_1"},
    )

    info = west.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert info["ErrorType"] == "REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED"


def test_deleting_the_parent_fails_its_replicas(ses: Any, eu: Any) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)

    eu.delete_email_identity(EmailIdentity="example.com")

    replica = ses.get_email_identity(EmailIdentity="example.com")
    assert (replica["DkimAttributes"]["Status"], replica["VerificationInfo"]["ErrorType"]) == (
        "FAILED",
        "REPLICATION_PRIMARY_NOT_FOUND",
    )


def test_parent_switching_to_byodkim_fails_its_replicas(
    ses: Any, eu: Any, account: Account
) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)
    key = parse_byodkim_private_key(keys.der_base64(keys.rsa_key(2048)))

    operations.use_byodkim(identity(account, "eu-west-1"), "sel", key, actor="test")

    info = ses.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert info["ErrorType"] == "REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED"


def test_replica_with_a_selector_is_bad_request(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity(
            EmailIdentity="example.com",
            DkimSigningAttributes={**FROM_EU, "DomainSigningSelector": "s1"},
        )

    assert error_of(exc_info)[1].startswith("A DEED replica uses its parent's Easy DKIM setup")


def test_v1_sees_the_parents_tokens_on_a_replica(
    ses: Any, eu: Any, owner_key: KeyPair, live_server: Any, boto_session: Any
) -> None:
    tokens = eu.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)
    v1 = boto_session.client(
        "ses",
        region_name="us-east-1",
        endpoint_url=live_server.url,
        aws_access_key_id=owner_key.access_key_id,
        aws_secret_access_key=owner_key.secret,
    )

    dkim = v1.get_identity_dkim_attributes(Identities=["example.com"])["DkimAttributes"]

    assert dkim["example.com"]["DkimTokens"] == tokens


def test_console_explains_a_replica(ses: Any, eu: Any, owner_client: Any) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)

    page = owner_client.get("/us-east-1/verified-identities/example.com/").content.decode()

    assert "This is a Deterministic Easy DKIM (DEED) replica" in page
    assert "example.com in eu-west-1" in page


def test_replica_signs_with_its_parents_key(ses: Any, eu: Any, account: Account) -> None:
    eu.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="example.com", DkimSigningAttributes=FROM_EU)
    parent = identity(account, "eu-west-1")
    generate_easy_dkim_keys.run(identity_id=parent.pk)
    operations.verify_without_dns(parent, "verified for the test", actor="test")

    signer = signer_for_address(account.pk, "us-east-1", "sender@example.com")

    assert signer is not None
    assert (signer.domain, signer.selector) == ("example.com", parent.dkim_tokens[0])
    assert identity(account, "us-east-1").dkim_keys.count() == 0
