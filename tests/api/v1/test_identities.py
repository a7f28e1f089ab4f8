"""boto3's SES v1 client against the live server: identity actions, their errors, and v1 <-> v2
round trips (one store of identities, two views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from accounts.models import Account, Region
from identities.models import Identity, IdentityType

from ..conftest import KeyPair, error_of

POLICY = (
    '{"Version":"2008-10-17","Statement":[{"Sid":"s","Effect":"Allow",'
    '"Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ses:SendEmail"],'
    '"Resource":"*"}]}'
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


def strip(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


# --- verify, list, delete -----------------------------------------------------------------------
def test_verify_email_identity_creates_pending_address_seen_by_v2(v1: Any, v2: Any) -> None:
    assert strip(v1.verify_email_identity(EmailAddress="Sender@example.com")) == {}

    identity = v2.get_email_identity(EmailIdentity="Sender@example.com")
    assert (identity["IdentityType"], identity["VerificationStatus"]) == (
        "EMAIL_ADDRESS",
        "PENDING",
    )
    assert strip(v1.get_identity_verification_attributes(Identities=["Sender@example.com"])) == {
        "VerificationAttributes": {"Sender@example.com": {"VerificationStatus": "Pending"}}
    }


def test_verify_email_identity_twice_succeeds(v1: Any) -> None:
    v1.verify_email_identity(EmailAddress="a@example.com")

    assert strip(v1.verify_email_identity(EmailAddress="a@example.com")) == {}
    assert v1.list_identities()["Identities"] == ["a@example.com"]


def test_verify_email_identity_bad_address(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.verify_email_identity(EmailAddress="not-an-address")

    code, message, status = error_of(exc_info)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message.startswith("“not-an-address” is not a valid email address")


def test_verify_email_address_deprecated_form(v1: Any) -> None:
    assert strip(v1.verify_email_address(EmailAddress="old@example.com")) == {}
    assert v1.list_identities(IdentityType="EmailAddress")["Identities"] == ["old@example.com"]


def test_verify_domain_identity_returns_token_and_keeps_it(v1: Any, v2: Any) -> None:
    token = v1.verify_domain_identity(Domain="Example.COM")["VerificationToken"]

    assert len(token) == 44
    assert token.endswith("=")
    assert v1.verify_domain_identity(Domain="example.com")["VerificationToken"] == token
    assert strip(v1.get_identity_verification_attributes(Identities=["example.com"])) == {
        "VerificationAttributes": {
            "example.com": {"VerificationStatus": "Pending", "VerificationToken": token}
        }
    }
    seen = v2.get_email_identity(EmailIdentity="example.com")
    assert (seen["VerificationStatus"], seen["DkimAttributes"]["Status"]) == (
        "PENDING",
        "NOT_STARTED",
    )
    assert seen["DkimAttributes"]["SigningEnabled"] is False


def test_verify_domain_identity_refuses_bad_domain(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.verify_domain_identity(Domain="http://example.com/")

    assert error_of(exc_info)[0] == "InvalidParameterValue"


def test_verify_domain_dkim_turns_on_easy_dkim_for_a_txt_domain(v1: Any, v2: Any) -> None:
    v1.verify_domain_identity(Domain="example.com")

    tokens = v1.verify_domain_dkim(Domain="example.com")["DkimTokens"]

    assert len(tokens) == 3
    assert all(len(token) == 32 for token in tokens)
    assert v1.verify_domain_dkim(Domain="example.com")["DkimTokens"] == tokens
    assert strip(v1.get_identity_dkim_attributes(Identities=["example.com"])) == {
        "DkimAttributes": {
            "example.com": {
                "DkimEnabled": True,
                "DkimVerificationStatus": "Pending",
                "DkimTokens": tokens,
            }
        }
    }
    assert v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"] == tokens


def test_verify_domain_dkim_creates_missing_domain(v1: Any) -> None:
    tokens = v1.verify_domain_dkim(Domain="new.example")["DkimTokens"]

    assert len(tokens) == 3
    assert v1.list_identities(IdentityType="Domain")["Identities"] == ["new.example"]


def test_v2_domain_seen_by_v1_with_same_tokens(v1: Any, v2: Any) -> None:
    created = v2.create_email_identity(EmailIdentity="v2.example")

    dkim = v1.get_identity_dkim_attributes(Identities=["v2.example"])["DkimAttributes"]
    assert dkim["v2.example"]["DkimTokens"] == created["DkimAttributes"]["Tokens"]
    attributes = v1.get_identity_verification_attributes(Identities=["v2.example"])
    assert len(attributes["VerificationAttributes"]["v2.example"]["VerificationToken"]) == 44


def test_delete_identity_is_idempotent_and_seen_by_v2(v1: Any, v2: Any) -> None:
    v1.verify_email_identity(EmailAddress="a@example.com")

    assert strip(v1.delete_identity(Identity="a@example.com")) == {}
    assert strip(v1.delete_identity(Identity="a@example.com")) == {}
    with pytest.raises(ClientError) as exc_info:
        v2.get_email_identity(EmailIdentity="a@example.com")
    assert error_of(exc_info)[0] == "NotFoundException"


def test_v1_deletes_v2_domain(v1: Any, v2: Any) -> None:
    v2.create_email_identity(EmailIdentity="gone.example")

    v1.delete_identity(Identity="GONE.example")

    assert v2.list_email_identities()["EmailIdentities"] == []


def test_delete_verified_email_address(v1: Any) -> None:
    v1.verify_email_address(EmailAddress="a@example.com")

    assert strip(v1.delete_verified_email_address(EmailAddress="a@example.com")) == {}
    assert v1.list_identities()["Identities"] == []


def test_list_identities_filters_and_pages(v1: Any) -> None:
    for name in ("c.example", "a.example", "b.example"):
        v1.verify_domain_identity(Domain=name)
    v1.verify_email_identity(EmailAddress="z@a.example")

    first = v1.list_identities(IdentityType="Domain", MaxItems=2)
    second = v1.list_identities(IdentityType="Domain", MaxItems=2, NextToken=first["NextToken"])
    paginated = v1.get_paginator("list_identities").paginate(PaginationConfig={"PageSize": 1})

    assert first["Identities"] == ["a.example", "b.example"]
    assert strip(second) == {"Identities": ["c.example"]}
    assert [name for page in paginated for name in page["Identities"]] == [
        "a.example",
        "b.example",
        "c.example",
        "z@a.example",
    ]


def test_list_identities_token_of_other_type_refused(v1: Any) -> None:
    for name in ("a.example", "b.example"):
        v1.verify_domain_identity(Domain=name)
    token = v1.list_identities(IdentityType="Domain", MaxItems=1)["NextToken"]

    with pytest.raises(ClientError) as exc_info:
        v1.list_identities(IdentityType="EmailAddress", NextToken=token)

    assert error_of(exc_info)[0] == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"MaxItems": 5000}, "MaxItems must be from 1 to 1000; it is 5000."),
        (
            {"IdentityType": "Bogus"},
            "IdentityType must be one of EmailAddress, Domain; “Bogus” is not one of them.",
        ),
    ],
)
def test_list_identities_bad_input(v1: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.list_identities(**kwargs)

    assert error_of(exc_info) == ("InvalidParameterValue", message, 400)


def test_list_verified_email_addresses_lists_verified_addresses_only(
    v1: Any, verified: Callable[[str], Identity]
) -> None:
    verified("ok@example.com")
    verified("example.com")
    v1.verify_email_identity(EmailAddress="pending@example.com")

    assert strip(v1.list_verified_email_addresses()) == {
        "VerifiedEmailAddresses": ["ok@example.com"]
    }


def test_identities_of_other_accounts_are_invisible(
    v1: Any, make_v1_client: Callable[..., Any], outsider_key: KeyPair
) -> None:
    v1.verify_domain_identity(Domain="mine.example")
    outsider = make_v1_client(outsider_key)

    outsider.delete_identity(Identity="mine.example")

    assert outsider.list_identities()["Identities"] == []
    assert strip(outsider.get_identity_verification_attributes(Identities=["mine.example"])) == {
        "VerificationAttributes": {}
    }
    assert v1.list_identities()["Identities"] == ["mine.example"]


# --- Get*Attributes -----------------------------------------------------------------------------
def test_get_attributes_echo_keys_and_leave_out_unknown(v1: Any) -> None:
    v1.verify_domain_identity(Domain="example.com")

    result = v1.get_identity_verification_attributes(
        Identities=[
            "EXAMPLE.com",
            "unknown.example",
            "arn:aws:ses:us-east-1:111111111111:identity/example.com",
        ]
    )["VerificationAttributes"]

    assert sorted(result) == [
        "EXAMPLE.com",
        "arn:aws:ses:us-east-1:111111111111:identity/example.com",
    ]


def test_get_attributes_refuses_more_than_100(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.get_identity_dkim_attributes(Identities=[f"d{n}.example" for n in range(101)])

    assert error_of(exc_info) == (
        "InvalidParameterValue",
        "Give at most 100 identities per call; 101 were given. Split the list into several calls.",
        400,
    )


def test_get_attributes_empty_map(v1: Any) -> None:
    assert strip(v1.get_identity_mail_from_domain_attributes(Identities=["none.example"])) == {
        "MailFromDomainAttributes": {}
    }


def test_email_address_dkim_attributes(v1: Any) -> None:
    v1.verify_email_identity(EmailAddress="a@example.com")

    assert strip(v1.get_identity_dkim_attributes(Identities=["a@example.com"])) == {
        "DkimAttributes": {
            "a@example.com": {"DkimEnabled": False, "DkimVerificationStatus": "NotStarted"}
        }
    }


# --- Set* ---------------------------------------------------------------------------------------
def test_mail_from_round_trip_with_v2(v1: Any, v2: Any) -> None:
    v1.verify_domain_identity(Domain="example.com")

    v1.set_identity_mail_from_domain(
        Identity="example.com",
        MailFromDomain="bounce.example.com",
        BehaviorOnMXFailure="RejectMessage",
    )

    assert v2.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"] == {
        "MailFromDomain": "bounce.example.com",
        "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }
    v2.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com", MailFromDomain="mail.example.com"
    )
    assert strip(v1.get_identity_mail_from_domain_attributes(Identities=["example.com"])) == {
        "MailFromDomainAttributes": {
            "example.com": {
                "MailFromDomain": "mail.example.com",
                "MailFromDomainStatus": "Pending",
                "BehaviorOnMXFailure": "UseDefaultValue",
            }
        }
    }
    v1.set_identity_mail_from_domain(Identity="example.com")  # Terraform's delete
    assert v2.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"] == {
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"
    }


def test_mail_from_must_be_a_subdomain(v1: Any) -> None:
    v1.verify_domain_identity(Domain="example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="other.org")

    code, message, _ = error_of(exc_info)
    assert (code, message) == (
        "InvalidParameterValue",
        "other.org is not a subdomain of example.com. Enter a subdomain such as mail.example.com.",
    )


def test_set_on_unknown_identity(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_dkim_enabled(Identity="unknown.example", DkimEnabled=True)

    assert error_of(exc_info) == (
        "InvalidParameterValue",
        "Identity unknown.example is not verified or does not exist.",
        400,
    )


def test_dkim_enabled_round_trip_with_v2(v1: Any, v2: Any) -> None:
    v2.create_email_identity(EmailIdentity="example.com")

    v1.set_identity_dkim_enabled(Identity="example.com", DkimEnabled=False)

    assert (
        v2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["SigningEnabled"]
        is False
    )


def test_notification_topics_and_forwarding(
    v1: Any, v2: Any, verified: Callable[[str], Identity]
) -> None:
    verified("example.com")

    v1.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=TOPIC
    )
    v1.set_identity_notification_topic(
        Identity="example.com", NotificationType="Complaint", SnsTopic=TOPIC
    )
    v1.set_identity_headers_in_notifications_enabled(
        Identity="example.com", NotificationType="Complaint", Enabled=True
    )
    v1.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)

    assert strip(v1.get_identity_notification_attributes(Identities=["example.com"])) == {
        "NotificationAttributes": {
            "example.com": {
                "BounceTopic": TOPIC,
                "ComplaintTopic": TOPIC,
                "ForwardingEnabled": False,
                "HeadersInBounceNotificationsEnabled": False,
                "HeadersInComplaintNotificationsEnabled": True,
                "HeadersInDeliveryNotificationsEnabled": False,
            }
        }
    }
    assert v2.get_email_identity(EmailIdentity="example.com")["FeedbackForwardingStatus"] is False
    v1.set_identity_notification_topic(Identity="example.com", NotificationType="Bounce")
    attributes = v1.get_identity_notification_attributes(Identities=["example.com"])
    assert "BounceTopic" not in attributes["NotificationAttributes"]["example.com"]


def test_forwarding_cannot_be_disabled_without_topics(
    v1: Any, verified: Callable[[str], Identity]
) -> None:
    verified("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)

    code, message, _ = error_of(exc_info)
    assert code == "InvalidParameterValue"
    assert message.startswith("Feedback forwarding can be disabled only when bounce and complaint")


def test_notification_topic_needs_verified_identity(v1: Any) -> None:
    v1.verify_domain_identity(Domain="example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_notification_topic(
            Identity="example.com", NotificationType="Bounce", SnsTopic=TOPIC
        )

    assert error_of(exc_info) == (
        "InvalidParameterValue",
        "Invalid identity example.com: Must be a verified email address or domain.",
        400,
    )


def test_notification_topic_must_be_an_sns_arn(
    v1: Any, verified: Callable[[str], Identity]
) -> None:
    verified("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_notification_topic(
            Identity="example.com", NotificationType="Bounce", SnsTopic="http://127.0.0.1/hook"
        )

    assert error_of(exc_info)[0] == "InvalidParameterValue"


def test_headers_in_notifications_unknown_identity_is_message_rejected(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_headers_in_notifications_enabled(
            Identity="unknown@example.com", NotificationType="Bounce", Enabled=True
        )

    assert error_of(exc_info) == (
        "MessageRejected",
        "Identity unknown@example.com is not verified or does not exist.",
        400,
    )


def test_headers_in_notifications_bad_type(v1: Any, verified: Callable[[str], Identity]) -> None:
    verified("a@example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.set_identity_headers_in_notifications_enabled(
            Identity="a@example.com", NotificationType="InvalidType", Enabled=True
        )

    assert error_of(exc_info) == (
        "InvalidParameterValue",
        "NotificationType must be one of Bounce, Complaint, Delivery; “InvalidType” is not one "
        "of them.",
        400,
    )


# --- policies -----------------------------------------------------------------------------------
def test_policies_round_trip_with_v2(v1: Any, v2: Any, verified: Callable[[str], Identity]) -> None:
    verified("example.com")

    v1.put_identity_policy(Identity="example.com", PolicyName="p1", Policy=POLICY)
    v1.put_identity_policy(Identity="example.com", PolicyName="p1", Policy=POLICY)

    assert v2.get_email_identity_policies(EmailIdentity="example.com")["Policies"] == {"p1": POLICY}
    assert v1.list_identity_policies(Identity="example.com")["PolicyNames"] == ["p1"]
    assert strip(v1.get_identity_policies(Identity="example.com", PolicyNames=["p1", "nope"])) == {
        "Policies": {"p1": POLICY}
    }
    v1.delete_identity_policy(Identity="example.com", PolicyName="p1")
    v1.delete_identity_policy(Identity="example.com", PolicyName="p1")
    assert v1.list_identity_policies(Identity="example.com")["PolicyNames"] == []


def test_put_identity_policy_invalid_document(v1: Any, verified: Callable[[str], Identity]) -> None:
    verified("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.put_identity_policy(Identity="example.com", PolicyName="p1", Policy="[1]")

    assert error_of(exc_info) == (
        "InvalidPolicy",
        "The policy must be a JSON object with Version and Statement members.",
        400,
    )


def test_put_identity_policy_bad_name(v1: Any, verified: Callable[[str], Identity]) -> None:
    verified("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.put_identity_policy(Identity="example.com", PolicyName="x" * 70, Policy=POLICY)

    assert error_of(exc_info)[0] == "InvalidParameterValue"


def test_v1_identity_keeps_history_actor(
    v1: Any, account: Account, region: Region, owner_key: KeyPair
) -> None:
    v1.verify_domain_identity(Domain="example.com")

    identity = Identity.objects.get(account=account, region=region, name="example.com")
    assert identity.identity_type == IdentityType.DOMAIN
    assert owner_key.access_key_id in identity.events.get(kind="created").actor
