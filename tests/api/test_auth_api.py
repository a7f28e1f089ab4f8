"""Authentication, tenant isolation and the error wire format, against the live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import AccessKey, Account, Region
from identities.models import Identity

from .conftest import KeyPair, error_of


# --- SigV4 -----------------------------------------------------------------------------------
def test_wrong_secret_is_signature_does_not_match(make_client: Any, owner_key: KeyPair) -> None:
    client = make_client(owner_key, secret="not-the-secret")

    with pytest.raises(client.exceptions.ClientError) as exc_info:
        client.get_account()

    code, message, status = error_of(exc_info)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("The request signature we calculated does not match")


def test_unknown_key_is_unrecognized_client(make_client: Any) -> None:
    client = make_client(KeyPair("AKIAUNKNOWNUNKNOWN00", "secret"))

    with pytest.raises(client.exceptions.ClientError) as exc_info:
        client.get_account()

    assert error_of(exc_info) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        403,
    )


def test_inactive_key_is_unrecognized_client(make_client: Any, owner_key: KeyPair) -> None:
    AccessKey.objects.get(access_key_id=owner_key.access_key_id).deactivate()

    with pytest.raises(Exception) as exc_info:
        make_client(owner_key).get_account()

    assert error_of(exc_info)[0] == "UnrecognizedClientException"


def test_skewed_clock_is_signature_expired(raw: Any) -> None:
    twenty_minutes_ago = datetime.now(UTC) - timedelta(minutes=20)

    response = raw("GET", "/v2/email/account", signed_at=twenty_minutes_ago)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("Signature expired:")


def test_missing_authorization_is_403(raw: Any) -> None:
    response = raw("GET", "/v2/email/account", key=None)

    assert (response.status, response.headers["x-amzn-ErrorType"]) == (
        403,
        "MissingAuthenticationTokenException",
    )
    assert response.json() == {"message": "Missing Authentication Token"}


def test_unserved_region_is_403(make_client: Any, owner_key: KeyPair) -> None:
    Region.objects.filter(code="eu-west-1").update(enabled=False)

    for region in ("xx-nowhere-1", "eu-west-1"):
        with pytest.raises(Exception) as exc_info:
            make_client(owner_key, region=region).get_account()
        code, message, status = error_of(exc_info)
        assert (code, status) == ("InvalidSignatureException", 403)
        assert message.startswith(f"Credential should be scoped to a valid region, not '{region}'.")


def test_successful_call_records_key_use(ses: Any, owner_key: KeyPair) -> None:
    ses.get_account()

    assert AccessKey.objects.get(access_key_id=owner_key.access_key_id).last_used_at is not None


# --- isolation ---------------------------------------------------------------------------------
def test_other_account_never_sees_or_touches_resources(
    ses: Any, outsider_ses: Any, account: Account
) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_configuration_set(ConfigurationSetName="cs1")
    Identity.objects.get(name="example.com").mark_verified()
    ses.create_custom_verification_email_template(
        TemplateName="t",
        FromEmailAddress="a@example.com",
        TemplateSubject="s",
        TemplateContent="<p>x</p>",
        SuccessRedirectionURL="https://e.com/",
        FailureRedirectionURL="https://e.com/",
    )
    arn = f"arn:aws:ses:us-east-1:{account.pk}:identity/example.com"

    assert outsider_ses.list_email_identities()["EmailIdentities"] == []
    assert outsider_ses.list_configuration_sets()["ConfigurationSets"] == []
    assert (
        outsider_ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]
        == []
    )
    calls = [
        lambda: outsider_ses.get_email_identity(EmailIdentity="example.com"),
        lambda: outsider_ses.delete_email_identity(EmailIdentity="example.com"),
        lambda: outsider_ses.put_email_identity_feedback_attributes(
            EmailIdentity="example.com", EmailForwardingEnabled=False
        ),
        lambda: outsider_ses.get_configuration_set(ConfigurationSetName="cs1"),
        lambda: outsider_ses.delete_configuration_set(ConfigurationSetName="cs1"),
        lambda: outsider_ses.get_custom_verification_email_template(TemplateName="t"),
        lambda: outsider_ses.delete_custom_verification_email_template(TemplateName="t"),
        lambda: outsider_ses.list_tags_for_resource(ResourceArn=arn),
        lambda: outsider_ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "x", "Value": "y"}]),
        lambda: outsider_ses.untag_resource(ResourceArn=arn, TagKeys=["x"]),
    ]
    for call in calls:
        with pytest.raises(outsider_ses.exceptions.NotFoundException):
            call()
    # The outsider may use the same names in its own account.
    outsider_ses.create_email_identity(EmailIdentity="example.com")
    assert Identity.objects.filter(name="example.com").count() == 2
    assert ses.get_email_identity(EmailIdentity="example.com")["VerificationStatus"] == "SUCCESS"


def test_regions_are_separate(ses: Any, make_client: Any, owner_key: KeyPair) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    ireland = make_client(owner_key, region="eu-west-1")

    assert ireland.list_email_identities()["EmailIdentities"] == []
    with pytest.raises(ireland.exceptions.NotFoundException):
        ireland.get_email_identity(EmailIdentity="example.com")


# --- the wire format ---------------------------------------------------------------------------
def test_error_response_has_ses_headers_and_body(raw: Any) -> None:
    response = raw("GET", "/v2/email/identities/missing.example.com")

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "NotFoundException"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    assert response.json() == {
        "message": "Email identity missing.example.com does not exist in us-east-1."
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "The request body is not valid JSON."),
        (b"[1, 2]", "The request body must be a JSON object"),
        (b'{"EmailIdentity": 5}', "EmailIdentity must be a string, not a number."),
        (
            b'{"EmailIdentity": "example.com", "Tags": {"Key": "a"}}',
            "Tags must be an array, not an object.",
        ),
        (
            b'{"EmailIdentity": "example.com", "Tags": [{"Key": 1, "Value": "v"}]}',
            "Tags[0].Key must be a string, not a number.",
        ),
        (b'{"EmailIdentity": "example.com", "Tags": [{"Key": "k"}]}', "Tags[0].Value is required."),
        (
            b'{"EmailIdentity": "example.com", "Extra": 1}',
            "“Extra” is not a member of CreateEmailIdentity's input.",
        ),
        (b'{"EmailIdentity": "exa\\u0000mple.com"}', "EmailIdentity contains a NUL character"),
        (b'{"EmailIdentity": "\\ud800@example.com"}', "EmailIdentity contains invalid Unicode"),
        (
            b'{"EmailIdentity": "example.com", "Tags": [{"Key": NaN, "Value": "v"}]}',
            "The request body is not valid JSON.",
        ),
        (b"\xff\xfe", "The request body is not valid JSON."),
        (b"[" * 100_000, "The request body is not valid JSON."),
    ],
)
def test_malformed_bodies_are_bad_request(raw: Any, payload: bytes, message: str) -> None:
    response = raw("POST", "/v2/email/identities", body=payload)

    assert (response.status, response.headers["x-amzn-ErrorType"]) == (400, "BadRequestException")
    assert response.json()["message"].startswith(message)


def test_unknown_operation_is_json_404(raw: Any) -> None:
    for method, path in (("GET", "/v2/email/nothing-here"), ("PATCH", "/v2/email/identities")):
        response = raw(method, path)
        assert (response.status, response.headers["x-amzn-ErrorType"]) == (
            404,
            "UnknownOperationException",
        )


def test_nul_in_path_is_bad_request(raw: Any) -> None:
    response = raw("GET", "/v2/email/identities/a%00b.com")

    assert (response.status, response.json()) == (
        400,
        {"message": "EmailIdentity contains a NUL character, which is not allowed."},
    )
