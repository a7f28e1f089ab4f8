"""Email identity operations through real boto3 against the live server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from accounts.models import Account, Region
from identities.dkim import generate_key_pair
from identities.models import Identity, IdentityType

from .conftest import error_of


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def verified(name: str, account: Account | None = None) -> Identity:
    identity = Identity.objects.get(name=name, **({"account": account} if account else {}))
    identity.mark_verified()
    return identity


# --- CreateEmailIdentity -----------------------------------------------------------------------
def test_create_email_identity_answers_like_ses(ses: Any) -> None:
    response = ses.create_email_identity(EmailIdentity="user+tag@example.com")

    assert body(response) == {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": False}
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert response["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]


def test_get_new_email_identity_has_ses_real_defaults(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="sender@example.com")

    response = ses.get_email_identity(EmailIdentity="sender@example.com")

    assert body(response) == {
        "IdentityType": "EMAIL_ADDRESS",
        "FeedbackForwardingStatus": True,
        "VerifiedForSendingStatus": False,
        "DkimAttributes": {
            "SigningEnabled": False,
            "Status": "NOT_STARTED",
            "SigningAttributesOrigin": "AWS_SES",
            "NextSigningKeyLength": "RSA_1024_BIT",
        },
        "MailFromAttributes": {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
        "Policies": {},
        "Tags": [],
        "VerificationStatus": "PENDING",
        "VerificationInfo": {},
    }


def test_create_domain_identity_starts_easy_dkim(ses: Any) -> None:
    response = ses.create_email_identity(
        EmailIdentity="Example.COM", Tags=[{"Key": "env", "Value": "prod"}]
    )

    dkim = response["DkimAttributes"]
    assert response["IdentityType"] == "DOMAIN"
    assert response["VerifiedForSendingStatus"] is False
    assert [len(token) for token in dkim["Tokens"]] == [32, 32, 32]
    assert dkim["SigningHostedZone"] == "dkim.amazonses.com"
    assert (dkim["Status"], dkim["SigningAttributesOrigin"], dkim["NextSigningKeyLength"]) == (
        "PENDING",
        "AWS_SES",
        "RSA_2048_BIT",
    )
    got = ses.get_email_identity(EmailIdentity="example.com")
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert got["DkimAttributes"]["Tokens"] == dkim["Tokens"]


def test_create_domain_identity_with_1024_bit_keys(ses: Any) -> None:
    response = ses.create_email_identity(
        EmailIdentity="example.org", DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}
    )

    assert response["DkimAttributes"]["NextSigningKeyLength"] == "RSA_1024_BIT"


def test_create_domain_identity_with_byodkim(ses: Any) -> None:
    key = generate_key_pair(1024)

    response = ses.create_email_identity(
        EmailIdentity="byo.example.com",
        DkimSigningAttributes={
            "DomainSigningSelector": "sel1",
            "DomainSigningPrivateKey": key.private_key_base64,
        },
    )

    assert response["DkimAttributes"] == {
        "SigningEnabled": True,
        "Status": "PENDING",
        "Tokens": ["sel1"],
        "SigningAttributesOrigin": "EXTERNAL",
    }
    assert (
        Identity.objects.get(name="byo.example.com").dkim_keys.get().public_key
        == key.public_key_base64
    )


def test_create_byodkim_with_pem_armour_is_bad_request(ses: Any) -> None:
    key = generate_key_pair(1024).private_key_base64
    pem = f"-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----"

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity(
            EmailIdentity="byo.example.com",
            DkimSigningAttributes={"DomainSigningSelector": "s", "DomainSigningPrivateKey": pem},
        )

    code, message, status = error_of(exc_info)
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith(
        "DkimSigningAttributes.DomainSigningPrivateKey is not in the expected format"
    )


def test_create_with_selector_but_no_key_is_bad_request(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity(
            EmailIdentity="example.com", DkimSigningAttributes={"DomainSigningSelector": "s1"}
        )

    assert "give both DomainSigningSelector and DomainSigningPrivateKey" in error_of(exc_info)[1]


def test_create_duplicate_is_already_exists(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    with pytest.raises(ses.exceptions.AlreadyExistsException) as exc_info:
        ses.create_email_identity(EmailIdentity="EXAMPLE.com")

    assert error_of(exc_info) == (
        "AlreadyExistsException",
        "example.com already exists as an identity in us-east-1.",
        400,
    )


def test_create_email_with_space_is_bad_request(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity(EmailIdentity="a b@example.com")

    assert error_of(exc_info)[1].startswith("“a b@example.com” is not a valid email address")


def test_create_with_unknown_configuration_set_is_not_found(ses: Any) -> None:
    with pytest.raises(ses.exceptions.NotFoundException) as exc_info:
        ses.create_email_identity(EmailIdentity="example.com", ConfigurationSetName="nope")

    code, message, status = error_of(exc_info)
    assert (code, status) == ("NotFoundException", 404)
    assert message.startswith("The configuration set nope doesn't exist in us-east-1.")


def test_create_with_configuration_set_sets_default(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSetName="cs1")

    ses.create_email_identity(EmailIdentity="example.com", ConfigurationSetName="cs1")

    assert ses.get_email_identity(EmailIdentity="example.com")["ConfigurationSetName"] == "cs1"


def test_create_beyond_the_region_limit_is_limit_exceeded(ses: Any, settings: Any) -> None:
    settings.MAX_IDENTITIES_PER_REGION = 1
    ses.create_email_identity(EmailIdentity="example.com")

    with pytest.raises(ses.exceptions.LimitExceededException) as exc_info:
        ses.create_email_identity(EmailIdentity="example.org")

    assert error_of(exc_info)[1].startswith("This account already has 1 identities in us-east-1")


def test_create_with_51_tags_is_limit_exceeded(ses: Any) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]

    with pytest.raises(ses.exceptions.LimitExceededException):
        ses.create_email_identity(EmailIdentity="example.com", Tags=tags)


def test_create_with_reserved_tag_key_is_bad_request(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity(EmailIdentity="example.com", Tags=[{"Key": "aws:x", "Value": ""}])

    assert "reserved for AWS" in error_of(exc_info)[1]


# --- percent-encoded identities ----------------------------------------------------------------
def test_plus_address_round_trips_through_get_and_delete(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="user+tag@example.com")

    assert (
        ses.get_email_identity(EmailIdentity="user+tag@example.com")["IdentityType"]
        == "EMAIL_ADDRESS"
    )
    ses.delete_email_identity(EmailIdentity="user+tag@example.com")

    with pytest.raises(ses.exceptions.NotFoundException) as exc_info:
        ses.get_email_identity(EmailIdentity="user+tag@example.com")
    assert (
        error_of(exc_info)[1] == "Email identity user+tag@example.com does not exist in us-east-1."
    )


def test_address_with_space_is_signed_and_not_found(ses: Any) -> None:
    # botocore sends a%20b%40example.com; the signature must still verify.
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.get_email_identity(EmailIdentity="a b@example.com")
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.delete_email_identity(EmailIdentity="a b@example.com")


def test_unicode_address_round_trips(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="jörg@example.com")

    assert (
        ses.get_email_identity(EmailIdentity="jörg@example.com")["VerificationStatus"] == "PENDING"
    )


def test_get_domain_is_case_insensitive(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    assert ses.get_email_identity(EmailIdentity="EXAMPLE.Com")["IdentityType"] == "DOMAIN"


# --- ListEmailIdentities ----------------------------------------------------------------------
def _bulk_identities(account: Account, region: Region, count: int) -> list[str]:
    names = [f"user{i:05d}@example.com" for i in range(count)]
    Identity.objects.bulk_create(
        Identity(
            account=account, region=region, identity_type=IdentityType.EMAIL_ADDRESS, name=name
        )
        for name in names
    )
    return names


def test_list_pages_over_2500_identities(ses: Any, account: Account, region: Region) -> None:
    names = _bulk_identities(account, region, 2500)
    pages, token = [], None

    while True:
        response = ses.list_email_identities(
            PageSize=1000, **({"NextToken": token} if token else {})
        )
        pages.append([item["IdentityName"] for item in response["EmailIdentities"]])
        token = response.get("NextToken")
        if not token:
            break

    assert [len(page) for page in pages] == [1000, 1000, 500]
    assert [name for page in pages for name in page] == sorted(names)
    assert ses.list_email_identities(PageSize=1000)["EmailIdentities"][0] == {
        "IdentityType": "EMAIL_ADDRESS",
        "IdentityName": "user00000@example.com",
        "SendingEnabled": False,
        "VerificationStatus": "PENDING",
    }


def test_list_page_is_the_json_the_dicts_would_give(
    raw: Any, account: Account, region: Region
) -> None:
    # The page is written as JSON text (api.wire.JsonText): it must be byte for byte what
    # json.dumps writes for the same members, names that need escaping included.
    kinds = {
        '"quoted \\ name"@example.com': IdentityType.EMAIL_ADDRESS,
        "jos\u00e9@example.com": IdentityType.EMAIL_ADDRESS,
        "b.example": IdentityType.DOMAIN,
    }
    Identity.objects.bulk_create(
        Identity(account=account, region=region, identity_type=kind, name=name)
        for name, kind in kinds.items()
    )
    Identity.objects.filter(name="b.example").update(verification_status="TEMPORARY_FAILURE")

    first = raw("POST", "/v2/email/list-identities", body=b'{"PageSize": 2}')
    token = json.dumps({"NextToken": first.json()["NextToken"]}).encode()
    second = raw("POST", "/v2/email/list-identities", body=token)

    for page in (first, second):
        assert page.body == json.dumps(page.json(), separators=(",", ":")).encode()
    listed = first.json()["EmailIdentities"] + second.json()["EmailIdentities"]
    assert sorted(listed, key=lambda item: item["IdentityName"]) == [
        {
            "IdentityType": kinds[name],
            "IdentityName": name,
            "SendingEnabled": name == "b.example",
            "VerificationStatus": "TEMPORARY_FAILURE" if name == "b.example" else "PENDING",
        }
        for name in sorted(kinds)
    ]
    assert list(first.json()) == ["EmailIdentities", "NextToken"]


def test_list_without_page_size_returns_100(ses: Any, account: Account, region: Region) -> None:
    _bulk_identities(account, region, 101)

    response = ses.list_email_identities()

    assert len(response["EmailIdentities"]) == 100
    assert "NextToken" in response


@pytest.mark.parametrize("token", ["garbage", "", "Zm9vOmJhcg", "eyJzIjoiMSJ9"])
def test_list_with_bad_next_token_is_bad_request(ses: Any, token: str) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.list_email_identities(NextToken=token or "x")

    assert error_of(exc_info)[1].startswith("The NextToken is not valid.")


def test_list_with_tampered_next_token_is_bad_request(
    ses: Any, account: Account, region: Region
) -> None:
    _bulk_identities(account, region, 3)
    token = ses.list_email_identities(PageSize=1)["NextToken"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    with pytest.raises(ses.exceptions.BadRequestException):
        ses.list_email_identities(NextToken=tampered)


def test_list_token_of_another_account_is_bad_request(
    ses: Any, outsider_ses: Any, other_account: Account, region: Region
) -> None:
    _bulk_identities(other_account, region, 3)
    token = outsider_ses.list_email_identities(PageSize=1)["NextToken"]

    with pytest.raises(ses.exceptions.BadRequestException):
        ses.list_email_identities(NextToken=token)


def test_list_page_size_above_1000_is_bad_request(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.list_email_identities(PageSize=1001)

    assert error_of(exc_info)[1] == "PageSize must be from 0 to 1000; it is 1001."


def test_list_filters_by_type_and_name(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="a@example.com")

    by_type = ses.list_email_identities(Filter={"IDENTITY_TYPE": "DOMAIN"})
    by_name = ses.list_email_identities(Filter={"IDENTITY_NAME_CONTAINS": "a@"})

    assert [i["IdentityName"] for i in by_type["EmailIdentities"]] == ["example.com"]
    assert [i["IdentityName"] for i in by_name["EmailIdentities"]] == ["a@example.com"]


def test_legacy_get_list_form_pages_with_query_parameters(
    raw: Any, account: Account, region: Region
) -> None:
    _bulk_identities(account, region, 3)

    first = raw("GET", "/v2/email/identities", query="PageSize=2")
    token = first.json()["NextToken"]
    second = raw("GET", "/v2/email/identities", query=f"NextToken={quote(token, safe='')}")

    assert [i["IdentityName"] for i in first.json()["EmailIdentities"]] == [
        "user00000@example.com",
        "user00001@example.com",
    ]
    assert second.json() == {
        "EmailIdentities": [
            {
                "IdentityType": "EMAIL_ADDRESS",
                "IdentityName": "user00002@example.com",
                "SendingEnabled": False,
                "VerificationStatus": "PENDING",
            }
        ]
    }


# --- DeleteEmailIdentity -----------------------------------------------------------------------
def test_delete_identity_removes_it(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    assert body(ses.delete_email_identity(EmailIdentity="example.com")) == {}
    assert not Identity.objects.filter(name="example.com").exists()


def test_delete_missing_identity_is_not_found(ses: Any) -> None:
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.delete_email_identity(EmailIdentity="example.com")


# --- Put*Attributes ----------------------------------------------------------------------------
def test_put_dkim_attributes_turns_signing_off_and_on(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    ses.put_email_identity_dkim_attributes(EmailIdentity="example.com", SigningEnabled=False)
    off = ses.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["SigningEnabled"]
    ses.put_email_identity_dkim_attributes(EmailIdentity="example.com", SigningEnabled=True)
    on = ses.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["SigningEnabled"]

    assert (off, on) == (False, True)


def test_put_dkim_signing_changes_key_length_once_a_day(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    verified("example.com")

    response = ses.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com",
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    assert (response["DkimStatus"], response["SigningHostedZone"], len(response["DkimTokens"])) == (
        "PENDING",
        "dkim.amazonses.com",
        3,
    )
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_email_identity_dkim_signing_attributes(
            EmailIdentity="example.com",
            SigningAttributesOrigin="AWS_SES",
            SigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
        )

    assert error_of(exc_info)[1].startswith(
        "The DKIM signing key length can be changed once every 24 hours."
    )
    got = ses.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["NextSigningKeyLength"] == "RSA_1024_BIT"
    assert got["VerifiedForSendingStatus"] is True  # a key change keeps sending verification


def test_put_dkim_signing_switches_to_byodkim_and_back(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    key = generate_key_pair(1024)

    byo = ses.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com",
        SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={
            "DomainSigningSelector": "sel",
            "DomainSigningPrivateKey": key.private_key_base64,
        },
    )
    easy = ses.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com", SigningAttributesOrigin="AWS_SES"
    )

    assert body(byo) == {"DkimStatus": "PENDING", "DkimTokens": ["sel"]}
    assert easy["SigningHostedZone"] == "dkim.amazonses.com"
    assert [len(token) for token in easy["DkimTokens"]] == [32, 32, 32]
    got = ses.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]
    assert (got["SigningAttributesOrigin"], got["NextSigningKeyLength"]) == (
        "AWS_SES",
        "RSA_2048_BIT",
    )


def test_put_dkim_signing_with_unknown_origin_is_bad_request(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_email_identity_dkim_signing_attributes(
            EmailIdentity="example.com", SigningAttributesOrigin="BOGUS"
        )

    assert error_of(exc_info)[1].startswith(
        "SigningAttributesOrigin must be one of AWS_SES, EXTERNAL,"
    )


def test_put_dkim_signing_on_email_address_is_bad_request(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="a@example.com")

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_email_identity_dkim_signing_attributes(
            EmailIdentity="a@example.com", SigningAttributesOrigin="AWS_SES"
        )

    assert error_of(exc_info)[1].startswith(
        "DKIM signing attributes can be set for domain identities only."
    )


def test_put_mail_from_sets_and_clears(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    ses.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com",
        MailFromDomain="bounce.example.com",
        BehaviorOnMxFailure="REJECT_MESSAGE",
    )
    on = ses.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    ses.put_email_identity_mail_from_attributes(EmailIdentity="example.com")
    off = ses.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]

    assert on == {
        "MailFromDomain": "bounce.example.com",
        "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }
    assert off == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}


def test_put_mail_from_outside_the_domain_is_bad_request(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com", MailFromDomain="mail.other.com"
        )

    assert error_of(exc_info)[1] == (
        "mail.other.com is not a subdomain of example.com. Enter a subdomain such as mail.example.com."
    )


def test_put_mail_from_with_unknown_behaviour_is_bad_request(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com",
            MailFromDomain="m.example.com",
            BehaviorOnMxFailure="BOUNCE",
        )

    assert (
        "BehaviorOnMxFailure must be one of USE_DEFAULT_VALUE, REJECT_MESSAGE"
        in error_of(exc_info)[1]
    )


def test_put_configuration_set_attributes_sets_and_removes(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSetName="cs1")
    ses.create_email_identity(EmailIdentity="example.com")

    ses.put_email_identity_configuration_set_attributes(
        EmailIdentity="example.com", ConfigurationSetName="cs1"
    )
    with_set = ses.get_email_identity(EmailIdentity="example.com").get("ConfigurationSetName")
    ses.put_email_identity_configuration_set_attributes(EmailIdentity="example.com")
    without = ses.get_email_identity(EmailIdentity="example.com").get("ConfigurationSetName")

    assert (with_set, without) == ("cs1", None)
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.put_email_identity_configuration_set_attributes(
            EmailIdentity="example.com", ConfigurationSetName="missing"
        )


def test_put_feedback_attributes(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="a@example.com")

    ses.put_email_identity_feedback_attributes(
        EmailIdentity="a@example.com", EmailForwardingEnabled=False
    )

    assert (
        ses.get_email_identity(EmailIdentity="a@example.com")["FeedbackForwardingStatus"] is False
    )


def test_put_attributes_on_missing_identity_is_not_found(ses: Any) -> None:
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.put_email_identity_feedback_attributes(
            EmailIdentity="nobody@example.com", EmailForwardingEnabled=True
        )


def test_verification_info_timestamps_are_epoch_numbers(ses: Any, raw: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    identity = verified("example.com")

    data = raw("GET", "/v2/email/identities/example.com").json()

    assert data["VerificationStatus"] == "SUCCESS"
    assert data["VerifiedForSendingStatus"] is True
    assert data["VerificationInfo"] == {
        "LastSuccessTimestamp": round(identity.last_success_at.timestamp(), 3)
    }


# --- policies --------------------------------------------------------------------------------
POLICY = '{"Version": "2012-10-17", "Statement": []}'


@pytest.mark.parametrize("name", ["example.com", "sender@example.com"])
def test_policy_on_unverified_identity_is_accepted(ses: Any, name: str) -> None:
    # AWS accepts them (Terraform's acceptance tests attach policies to just-created,
    # unverified domain and email identities), whatever its API reference says.
    ses.create_email_identity(EmailIdentity=name)

    ses.create_email_identity_policy(EmailIdentity=name, PolicyName="p1", Policy=POLICY)
    ses.update_email_identity_policy(EmailIdentity=name, PolicyName="p1", Policy='{"Version": "x"}')

    identity = ses.get_email_identity(EmailIdentity=name)
    assert (identity["VerificationStatus"], identity["Policies"]) == (
        "PENDING",
        {"p1": '{"Version": "x"}'},
    )


def test_policy_lifecycle(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    verified("example.com")

    ses.create_email_identity_policy(EmailIdentity="example.com", PolicyName="p1", Policy=POLICY)
    with pytest.raises(ses.exceptions.AlreadyExistsException):
        ses.create_email_identity_policy(
            EmailIdentity="example.com", PolicyName="p1", Policy=POLICY
        )
    ses.update_email_identity_policy(
        EmailIdentity="example.com", PolicyName="p1", Policy='{"Version": "x"}'
    )
    ses.update_email_identity_policy(
        EmailIdentity="example.com", PolicyName="missing", Policy=POLICY
    )
    policies = ses.get_email_identity_policies(EmailIdentity="example.com")["Policies"]
    assert policies == {"p1": '{"Version": "x"}'}
    assert ses.get_email_identity(EmailIdentity="example.com")["Policies"] == policies

    ses.delete_email_identity_policy(EmailIdentity="example.com", PolicyName="p1")
    ses.delete_email_identity_policy(EmailIdentity="example.com", PolicyName="missing")
    assert ses.get_email_identity_policies(EmailIdentity="example.com")["Policies"] == {}


@pytest.mark.parametrize(
    ("name", "policy", "message"),
    [
        ("p1", "not json", "The policy is not valid JSON"),
        ("p1", "[1, 2]", "The policy must be a JSON object"),
        ("p1", '{"a": "' + "x" * 4100 + '"}', "The policy is 4,109 bytes"),
        ("bad.name", POLICY, "“bad.name” is not a valid policy name."),
    ],
)
def test_invalid_policy_is_bad_request(ses: Any, name: str, policy: str, message: str) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    verified("example.com")

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_email_identity_policy(
            EmailIdentity="example.com", PolicyName=name, Policy=policy
        )

    assert error_of(exc_info)[1].startswith(message)


def test_21st_policy_is_limit_exceeded(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    identity = verified("example.com")
    identity.policies.bulk_create(
        [identity.policies.model(identity=identity, name=f"p{i}", document="{}") for i in range(20)]
    )

    with pytest.raises(ses.exceptions.LimitExceededException):
        ses.create_email_identity_policy(
            EmailIdentity="example.com", PolicyName="p20", Policy=POLICY
        )
