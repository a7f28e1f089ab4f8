"""The v1 Query protocol on `/`: XML envelopes, authentication codes, never HTML."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError
from django.test import Client

from accounts.models import AccessKey

from ..conftest import KeyPair, RawResponse, error_of

NS = "{http://ses.amazonaws.com/doc/2010-12-01/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def xml_error(response: RawResponse) -> tuple[int, str, str, str]:
    """(status, Type, Code, Message) of an ErrorResponse, checking the envelope's shape."""
    assert response.headers["Content-Type"] == "text/xml"
    root = ElementTree.fromstring(response.body)
    assert root.tag == f"{NS}ErrorResponse"
    error = root.find(f"{NS}Error")
    assert error is not None
    assert root.findtext(f"{NS}RequestId") == response.headers["x-amzn-RequestId"]
    return (
        response.status,
        error.findtext(f"{NS}Type") or "",
        error.findtext(f"{NS}Code") or "",
        error.findtext(f"{NS}Message") or "",
    )


def post(
    raw: Callable[..., RawResponse], body: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> RawResponse:
    return raw("POST", "/", body=body.encode(), headers={**FORM, **(headers or {})}, **kwargs)


def test_v1_success_envelope_has_result_and_request_id(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=VerifyEmailIdentity&Version=2010-12-01&EmailAddress=a%40b.com")

    assert response.status == 200
    root = ElementTree.fromstring(response.body)
    assert root.tag == f"{NS}VerifyEmailIdentityResponse"
    assert [child.tag for child in root] == [
        f"{NS}VerifyEmailIdentityResult",
        f"{NS}ResponseMetadata",
    ]
    assert (
        root.findtext(f"{NS}ResponseMetadata/{NS}RequestId") == response.headers["x-amzn-RequestId"]
    )


def test_v1_operation_without_output_writes_no_result(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=VerifyEmailAddress&Version=2010-12-01&EmailAddress=a%40b.com")

    root = ElementTree.fromstring(response.body)
    assert [child.tag for child in root] == [f"{NS}ResponseMetadata"]


def test_v1_empty_list_is_written(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=ListVerifiedEmailAddresses&Version=2010-12-01")

    root = ElementTree.fromstring(response.body)
    result = root.find(f"{NS}ListVerifiedEmailAddressesResult")
    assert result is not None
    assert [child.tag for child in result] == [f"{NS}VerifiedEmailAddresses"]


def test_v1_unsigned_post_is_missing_authentication_token(
    raw: Callable[..., RawResponse],
) -> None:
    response = post(raw, "Action=ListIdentities&Version=2010-12-01", key=None)

    assert xml_error(response) == (
        403,
        "Sender",
        "MissingAuthenticationToken",
        "Missing Authentication Token",
    )


def test_v1_unsigned_post_without_body_is_xml_not_csrf_page(live_server: Any) -> None:
    response = Client(enforce_csrf_checks=True).post("/")

    assert response.status_code == 403
    assert response["Content-Type"] == "text/xml"
    assert b"MissingAuthenticationToken" in response.content
    assert b"<html" not in response.content.lower()


def test_v1_unknown_action_is_invalid_action(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=LaunchRockets&Version=2010-12-01")

    status, _, code, message = xml_error(response)
    assert (status, code) == (400, "InvalidAction")
    assert message.startswith("The action LaunchRockets is not valid for this web service.")


def test_v1_missing_action_is_missing_action(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Version=2010-12-01")

    assert xml_error(response)[2:] == (
        "MissingAction",
        "The request must contain the parameter Action.",
    )


def test_v1_get_with_action_is_invalid_action(raw: Callable[..., RawResponse]) -> None:
    response = raw("GET", "/", query="Action=ListIdentities&Version=2010-12-01")

    status, _, code, message = xml_error(response)
    assert (status, code) == (400, "InvalidAction")
    assert "takes POST requests" in message


def test_console_home_is_unchanged_for_browsers(client: Client) -> None:
    response = client.get("/")
    behind_basic_auth = client.get("/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert behind_basic_auth.status_code == 302


def test_signed_get_to_root_is_xml(raw: Callable[..., RawResponse]) -> None:
    response = raw("GET", "/")

    status, _, code, _ = xml_error(response)
    assert (status, code) == (400, "InvalidAction")


def test_v1_wrong_secret_is_signature_does_not_match(
    make_v1_client: Callable[..., Any], owner_key: KeyPair
) -> None:
    client = make_v1_client(KeyPair(owner_key.access_key_id, "not-the-secret"))

    with pytest.raises(ClientError) as exc_info:
        client.list_identities()

    code, message, status = error_of(exc_info)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("The request signature we calculated does not match")


def test_v1_unknown_key_is_invalid_client_token_id(
    make_v1_client: Callable[..., Any],
) -> None:
    client = make_v1_client(KeyPair("AKIAUNKNOWNUNKNOWN00", "secret"))

    with pytest.raises(ClientError) as exc_info:
        client.list_identities()

    assert error_of(exc_info) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
    )


def test_v1_inactive_key_is_invalid_client_token_id(
    make_v1_client: Callable[..., Any], owner_key: KeyPair
) -> None:
    AccessKey.objects.filter(access_key_id=owner_key.access_key_id).update(
        status=AccessKey.Status.INACTIVE
    )

    with pytest.raises(ClientError) as exc_info:
        make_v1_client(owner_key).list_identities()

    assert error_of(exc_info)[0] == "InvalidClientTokenId"


def test_v1_old_signature_is_request_expired(raw: Callable[..., RawResponse]) -> None:
    signed_at = datetime.now(UTC) - timedelta(minutes=20)

    response = post(raw, "Action=ListIdentities&Version=2010-12-01", signed_at=signed_at)

    status, _, code, message = xml_error(response)
    assert (status, code) == (400, "RequestExpired")
    assert message.startswith("Request has expired. Signature expired:")


def test_v1_incomplete_signature(raw: Callable[..., RawResponse]) -> None:
    response = post(
        raw,
        "Action=ListIdentities&Version=2010-12-01",
        key=None,
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x"},
    )

    status, _, code, _ = xml_error(response)
    assert (status, code) == (400, "IncompleteSignature")


def test_v1_sigv3_is_refused(raw: Callable[..., RawResponse]) -> None:
    response = post(
        raw,
        "Action=ListIdentities&Version=2010-12-01",
        key=None,
        headers={"X-Amzn-Authorization": "AWS3-HTTPS AWSAccessKeyId=AKIA,Signature=x"},
    )

    assert xml_error(response)[2] == "MissingAuthenticationToken"


def test_v1_region_not_served_is_refused(
    make_v1_client: Callable[..., Any], owner_key: KeyPair
) -> None:
    with pytest.raises(ClientError) as exc_info:
        make_v1_client(owner_key, region="xx-nowhere-1").list_identities()

    code, message, status = error_of(exc_info)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("Credential should be scoped to a valid region, not 'xx-nowhere-1'")


def test_v1_missing_required_parameter(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=VerifyDomainIdentity&Version=2010-12-01")

    assert xml_error(response) == (
        400,
        "Sender",
        "MissingParameter",
        "The request must contain the parameter Domain.",
    )


def test_v1_unknown_parameter_is_named(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=ListIdentities&Version=2010-12-01&Colour=blue")

    assert xml_error(response)[2:] == (
        "InvalidParameterValue",
        "Colour is not a parameter of ListIdentities. Valid parameters: IdentityType, "
        "NextToken, MaxItems.",
    )


def test_v1_bad_boolean(raw: Callable[..., RawResponse]) -> None:
    response = post(
        raw,
        "Action=SetIdentityDkimEnabled&Version=2010-12-01&Identity=example.com&DkimEnabled=yes",
    )

    assert xml_error(response)[2:] == (
        "InvalidParameterValue",
        "DkimEnabled must be true or false, not “yes”.",
    )


def test_v1_wrong_version(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=ListIdentities&Version=2019-09-27")

    assert xml_error(response)[2:] == (
        "InvalidParameterValue",
        "Version 2019-09-27 is not supported; the SES Query API is 2010-12-01.",
    )


def test_v1_parameter_given_twice(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=ListIdentities&Version=2010-12-01&MaxItems=1&MaxItems=2")

    assert xml_error(response)[2:] == (
        "InvalidParameterValue",
        "The parameter MaxItems is given more than once.",
    )


def test_v1_nul_in_parameter_is_xml_error(raw: Callable[..., RawResponse]) -> None:
    response = post(raw, "Action=VerifyDomainIdentity&Version=2010-12-01&Domain=a%00b.com")

    assert xml_error(response)[2:] == (
        "InvalidParameterValue",
        "Parameters must not contain NUL characters.",
    )


def test_v1_message_is_escaped(raw: Callable[..., RawResponse]) -> None:
    response = post(
        raw, "Action=DescribeConfigurationSet&Version=2010-12-01&ConfigurationSetName=cs"
    )

    assert b"Configuration set &lt;cs&gt; does not exist." in response.body
    assert xml_error(response)[2:] == (
        "ConfigurationSetDoesNotExist",
        "Configuration set <cs> does not exist.",
    )
