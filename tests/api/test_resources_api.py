"""Configuration sets, custom verification templates, tags and the account, through boto3."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account, Region
from identities.models import Identity
from templates_app.models import CustomVerificationEmailTemplate

from .conftest import error_of

TEMPLATE = {
    "TemplateName": "welcome",
    "FromEmailAddress": "noreply@example.com",
    "TemplateSubject": "Please verify",
    "TemplateContent": "<html><body><p>Click to verify</p></body></html>",
    "SuccessRedirectionURL": "https://example.com/ok",
    "FailureRedirectionURL": "https://example.com/fail",
}


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


@pytest.fixture
def verified_domain(ses: Any) -> Identity:
    ses.create_email_identity(EmailIdentity="example.com")
    identity = Identity.objects.get(name="example.com")
    identity.mark_verified()
    return identity


# --- configuration sets ------------------------------------------------------------------------
def test_configuration_set_lifecycle(ses: Any) -> None:
    ses.create_configuration_set(
        ConfigurationSetName="cs1",
        Tags=[{"Key": "a", "Value": "b"}],
        DeliveryOptions={"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600},
    )
    ses.create_configuration_set(ConfigurationSetName="cs2")

    assert body(ses.get_configuration_set(ConfigurationSetName="cs1")) == {
        "ConfigurationSetName": "cs1",
        "DeliveryOptions": {"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600},
        "ReputationOptions": {"ReputationMetricsEnabled": False},
        "SendingOptions": {"SendingEnabled": True},
        "Tags": [{"Key": "a", "Value": "b"}],
    }
    first = ses.list_configuration_sets(PageSize=1)
    second = ses.list_configuration_sets(NextToken=first["NextToken"])
    assert (first["ConfigurationSets"], body(second)) == (["cs1"], {"ConfigurationSets": ["cs2"]})

    ses.delete_configuration_set(ConfigurationSetName="cs1")
    with pytest.raises(ses.exceptions.NotFoundException) as exc_info:
        ses.get_configuration_set(ConfigurationSetName="cs1")
    assert error_of(exc_info)[1] == "Configuration set cs1 does not exist in us-east-1."


def test_configuration_set_legacy_get_list(raw: Any, ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSetName="cs1")

    assert raw("GET", "/v2/email/configuration-sets").json() == {"ConfigurationSets": ["cs1"]}


def test_duplicate_configuration_set_is_already_exists(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSetName="cs1")

    with pytest.raises(ses.exceptions.AlreadyExistsException):
        ses.create_configuration_set(ConfigurationSetName="cs1")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ConfigurationSetName": "bad name"}, "“bad name” is not a valid configuration set name."),
        (
            {"ConfigurationSetName": "cs", "DeliveryOptions": {"TlsPolicy": "SOMETIMES"}},
            "DeliveryOptions.TlsPolicy must be one of REQUIRE, OPTIONAL;",
        ),
    ],
)
def test_invalid_configuration_set_is_bad_request(
    ses: Any, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_configuration_set(**params)

    assert error_of(exc_info)[1].startswith(message)


def test_out_of_range_number_is_bad_request(raw: Any) -> None:
    # botocore checks ranges itself; hand-written clients don't.
    payload = b'{"ConfigurationSetName": "cs", "DeliveryOptions": {"MaxDeliverySeconds": 10}}'

    response = raw("POST", "/v2/email/configuration-sets", body=payload)

    assert (response.status, response.json()) == (
        400,
        {"message": "DeliveryOptions.MaxDeliverySeconds must be between 300 and 50400; it is 10."},
    )


# --- custom verification email templates --------------------------------------------------------
def test_template_lifecycle(ses: Any, raw: Any, verified_domain: Identity) -> None:
    ses.create_custom_verification_email_template(**TEMPLATE, Tags=[{"Key": "k", "Value": "v"}])

    assert body(ses.get_custom_verification_email_template(TemplateName="welcome")) == {
        **TEMPLATE,
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    listed = ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]
    assert listed == [{k: v for k, v in TEMPLATE.items() if k != "TemplateContent"}]

    # The SES guide: Update accepts any subset (botocore insists on all five; raw skips it).
    response = raw(
        "PUT",
        "/v2/email/custom-verification-email-templates/welcome",
        body=b'{"TemplateSubject": "New subject"}',
    )
    assert (response.status, response.json()) == (200, {})
    assert (
        ses.get_custom_verification_email_template(TemplateName="welcome")["TemplateSubject"]
        == "New subject"
    )

    ses.delete_custom_verification_email_template(TemplateName="welcome")
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.get_custom_verification_email_template(TemplateName="welcome")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"FromEmailAddress": "Team <noreply@example.com>"},
            "FromEmailAddress: The From address can't have a display name",
        ),
        (
            {"FromEmailAddress": "noreply@unverified.org"},
            "FromEmailAddress: noreply@unverified.org is not verified in us-east-1.",
        ),
        (
            {"TemplateContent": "<p>hi</p><script>x()</script>"},
            "TemplateContent: Line 1, column 10: The <script> tag is not allowed",
        ),
        (
            {"TemplateContent": "<p>hi</p><!-- note -->"},
            "TemplateContent: Line 1, column 10: Comments are not allowed",
        ),
        (
            {"SuccessRedirectionURL": "ftp://example.com/"},
            "SuccessRedirectionURL: The success redirection URL must be a full http:// or https://",
        ),
        ({"TemplateSubject": "two\nlines"}, "TemplateSubject: The subject must be a single line."),
        ({"TemplateName": "bad name"}, "TemplateName: “bad name” is not a valid template name."),
    ],
)
def test_invalid_template_is_bad_request(
    ses: Any, verified_domain: Identity, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.create_custom_verification_email_template(**{**TEMPLATE, **changes})

    assert error_of(exc_info)[1].startswith(message)


def test_duplicate_template_is_already_exists(ses: Any, verified_domain: Identity) -> None:
    ses.create_custom_verification_email_template(**TEMPLATE)

    with pytest.raises(ses.exceptions.AlreadyExistsException):
        ses.create_custom_verification_email_template(**TEMPLATE)


def test_51st_template_is_limit_exceeded(
    ses: Any, verified_domain: Identity, account: Account, region: Region
) -> None:
    fields = {k: v for k, v in TEMPLATE.items() if k not in ("TemplateName",)}
    CustomVerificationEmailTemplate.objects.bulk_create(
        CustomVerificationEmailTemplate(
            account=account,
            region=region,
            name=f"t{i}",
            from_email_address=fields["FromEmailAddress"],
            subject="s",
            content="<p>x</p>",
            success_redirection_url="https://e.com/",
            failure_redirection_url="https://e.com/",
        )
        for i in range(50)
    )

    with pytest.raises(ses.exceptions.LimitExceededException) as exc_info:
        ses.create_custom_verification_email_template(**TEMPLATE)

    assert error_of(exc_info)[1].startswith(
        "This account already has 50 custom verification email templates in us-east-1"
    )
    page = ses.list_custom_verification_email_templates(PageSize=50)
    assert (len(page["CustomVerificationEmailTemplates"]), "NextToken" in page) == (50, False)
    with pytest.raises(ses.exceptions.BadRequestException):
        ses.list_custom_verification_email_templates(PageSize=51)


def test_send_custom_verification_email_needs_production_access(
    ses: Any, verified_domain: Identity
) -> None:
    ses.create_custom_verification_email_template(**TEMPLATE)

    with pytest.raises(ses.exceptions.MessageRejected) as exc_info:
        ses.send_custom_verification_email(
            EmailAddress="someone@example.net", TemplateName="welcome"
        )

    assert error_of(exc_info)[1].startswith("Production access not granted.")


def test_send_custom_verification_email_returns_message_id(
    ses: Any, verified_domain: Identity, account: Account, region: Region
) -> None:
    account.region_settings(region).grant_production_access()
    ses.create_custom_verification_email_template(**TEMPLATE)

    response = ses.send_custom_verification_email(
        EmailAddress="someone@example.net", TemplateName="welcome"
    )

    assert len(response["MessageId"]) > 20
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.send_custom_verification_email(EmailAddress="someone@example.net", TemplateName="nope")


# --- tags ------------------------------------------------------------------------------------
def test_tags_on_every_resource_type(ses: Any, verified_domain: Identity, account: Account) -> None:
    ses.create_configuration_set(ConfigurationSetName="cs1")
    ses.create_custom_verification_email_template(**TEMPLATE)
    base = f"arn:aws:ses:us-east-1:{account.pk}:"
    arns = [
        base + "identity/example.com",
        base + "configuration-set/cs1",
        base + "custom-verification-email-template/welcome",
    ]

    for arn in arns:
        ses.tag_resource(
            ResourceArn=arn, Tags=[{"Key": "b c", "Value": "1"}, {"Key": "a", "Value": "2"}]
        )
        ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
        assert ses.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
            {"Key": "a", "Value": "3"},
            {"Key": "b c", "Value": "1"},
        ]
        ses.untag_resource(ResourceArn=arn, TagKeys=["b c", "a", "missing"])
        assert ses.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_tags_beyond_50_are_bad_request(
    ses: Any, verified_domain: Identity, account: Account
) -> None:
    # TagResource declares BadRequestException, not LimitExceededException.
    arn = f"arn:aws:ses:us-east-1:{account.pk}:identity/example.com"
    ses.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])

    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": ""}])

    assert error_of(exc_info) == (
        "BadRequestException",
        "A resource can have at most 50 tags; this would give it 51. Remove some tags first.",
        400,
    )


@pytest.mark.parametrize(
    ("arn", "code"),
    [
        ("arn:aws:ses:us-east-1:{account}:identity/missing.com", "NotFoundException"),
        ("arn:aws:ses:eu-west-1:{account}:identity/example.com", "NotFoundException"),
        ("arn:aws:ses:us-east-1:999999999999:identity/example.com", "NotFoundException"),
        ("not-an-arn", "BadRequestException"),
        ("arn:aws:ses:us-east-1:{account}:template/x", "BadRequestException"),
    ],
)
def test_tagging_unknown_or_foreign_arn(
    ses: Any, verified_domain: Identity, account: Account, arn: str, code: str
) -> None:
    with pytest.raises(ses.exceptions.ClientError) as exc_info:
        ses.list_tags_for_resource(ResourceArn=arn.format(account=account.pk))

    assert error_of(exc_info)[0] == code


# --- account ---------------------------------------------------------------------------------
def test_get_account_in_the_sandbox(ses: Any) -> None:
    assert body(ses.get_account()) == {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": False,
        "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0},
        "SendingEnabled": True,
        "SuppressionAttributes": {"SuppressedReasons": []},
    }


def test_put_account_details_requests_production_access(
    ses: Any, account: Account, region: Region
) -> None:
    ses.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://example.com",
        UseCaseDescription="Receipts.",
        AdditionalContactEmailAddresses=["ops@example.com"],
    )

    details = ses.get_account()["Details"]
    assert details["ReviewDetails"]["Status"] == "PENDING"
    assert {k: v for k, v in details.items() if k != "ReviewDetails"} == {
        "MailType": "TRANSACTIONAL",
        "WebsiteURL": "https://example.com",
        "ContactLanguage": "EN",
        "UseCaseDescription": "Receipts.",
        "AdditionalContactEmailAddresses": ["ops@example.com"],
    }
    with pytest.raises(ses.exceptions.ConflictException) as exc_info:
        ses.put_account_details(MailType="MARKETING", WebsiteURL="https://example.com")
    assert error_of(exc_info)[2] == 409

    account.region_settings(region).grant_production_access()
    granted = ses.get_account()
    assert (
        granted["ProductionAccessEnabled"],
        granted["SendQuota"]["Max24HourSend"],
        granted["SendQuota"]["MaxSendRate"],
    ) == (True, 50000.0, 14.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"MailType": "SPAM", "WebsiteURL": "https://e.com"},
            "MailType must be one of MARKETING, TRANSACTIONAL",
        ),
        (
            {"MailType": "MARKETING", "WebsiteURL": "e.com"},
            "The website URL must be an http:// or https:// address",
        ),
        (
            {"MailType": "MARKETING", "WebsiteURL": "https://e.com", "ContactLanguage": "FR"},
            "ContactLanguage must be one of EN, JA",
        ),
    ],
)
def test_invalid_account_details_are_bad_request(
    ses: Any, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.put_account_details(**params)

    assert error_of(exc_info)[1].startswith(message)


def test_put_account_details_shares_the_consoles_rules(
    ses: Any, raw: Callable[..., Any], account: Account, region: Region
) -> None:
    """The same model method as the console: a contact that is no address is refused with its
    message (more than four is already refused by the API's shape, as by botocore), and a
    request withdrawn in the console may be sent again through the API."""
    contacts = ["ops@example.com", "two@@example.com"]
    body = {"MailType": "MARKETING", "WebsiteURL": "https://e.com"}
    response = raw(
        "POST",
        "/v2/email/account/details",
        body=json.dumps({**body, "AdditionalContactEmailAddresses": contacts}).encode(),
    )
    assert (response.status, response.json()["message"]) == (
        400,
        "“two@@example.com” is not an email address. Enter addresses such as ops@example.com, "
        "separated by commas.",
    )
    ses.put_account_details(MailType="MARKETING", WebsiteURL="https://e.com")
    account.region_settings(region).withdraw_production_access_request()
    ses.put_account_details(MailType="TRANSACTIONAL", WebsiteURL="https://e.com")
    assert ses.get_account()["Details"]["MailType"] == "TRANSACTIONAL"
