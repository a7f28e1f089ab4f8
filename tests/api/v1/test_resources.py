"""boto3's SES v1 client: custom verification templates, configuration sets, account actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from accounts.models import Account, Region
from identities.models import Identity

from ..conftest import error_of

TEMPLATE = {
    "TemplateName": "Welcome",
    "FromEmailAddress": "sender@example.com",
    "TemplateSubject": "Please confirm",
    "TemplateContent": "<html><body><p>Hello</p></body></html>",
    "SuccessRedirectionURL": "https://www.example.com/ok",
    "FailureRedirectionURL": "https://www.example.com/fail",
}


def strip(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def error_response(exc_info: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    return dict(exc_info.value.response["Error"])


# --- custom verification email templates --------------------------------------------------------
def test_template_lifecycle_shared_with_v2(
    v1: Any, v2: Any, verified: Callable[[str], Identity]
) -> None:
    verified("example.com")

    assert strip(v1.create_custom_verification_email_template(**TEMPLATE)) == {}
    v1.update_custom_verification_email_template(TemplateName="Welcome", TemplateSubject="Hi")

    assert strip(v1.get_custom_verification_email_template(TemplateName="Welcome")) == {
        **TEMPLATE,
        "TemplateSubject": "Hi",
    }
    assert v2.get_custom_verification_email_template(TemplateName="Welcome")["TemplateSubject"] == (
        "Hi"
    )
    listed = v1.list_custom_verification_email_templates(MaxResults=100)
    assert listed["CustomVerificationEmailTemplates"] == [
        {
            key: value
            for key, value in {**TEMPLATE, "TemplateSubject": "Hi"}.items()
            if key != "TemplateContent"
        }
    ]
    assert strip(v1.delete_custom_verification_email_template(TemplateName="Welcome")) == {}
    assert strip(v1.delete_custom_verification_email_template(TemplateName="Welcome")) == {}
    assert v2.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"] == []


def test_template_already_exists(v1: Any, verified: Callable[[str], Identity]) -> None:
    verified("example.com")
    v1.create_custom_verification_email_template(**TEMPLATE)

    with pytest.raises(ClientError) as exc_info:
        v1.create_custom_verification_email_template(**TEMPLATE)

    assert (
        exc_info.value.__class__.__name__ == "CustomVerificationEmailTemplateAlreadyExistsException"
    )
    error = error_response(exc_info)
    assert (error["Code"], error["CustomVerificationEmailTemplateName"]) == (
        "CustomVerificationEmailTemplateAlreadyExists",
        "Welcome",
    )


def test_template_from_address_not_verified(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.create_custom_verification_email_template(**TEMPLATE)

    error = error_response(exc_info)
    assert (error["Code"], error["FromEmailAddress"]) == (
        "FromEmailAddressNotVerified",
        "sender@example.com",
    )
    assert error["Message"].startswith("FromEmailAddress: ")


def test_template_invalid_content(v1: Any, verified: Callable[[str], Identity]) -> None:
    verified("example.com")

    with pytest.raises(ClientError) as exc_info:
        v1.create_custom_verification_email_template(
            **{**TEMPLATE, "TemplateContent": "<html><script>x</script></html>"}
        )

    code, message, status = error_of(exc_info)
    assert (code, status) == ("CustomVerificationEmailInvalidContent", 400)
    assert message.startswith("TemplateContent: ")


def test_template_does_not_exist(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.get_custom_verification_email_template(TemplateName="Nope")

    assert error_response(exc_info) == {
        "Type": "Sender",
        "Code": "CustomVerificationEmailTemplateDoesNotExist",
        "Message": "Custom verification email template <Nope> does not exist.",
        "CustomVerificationEmailTemplateName": "Nope",
    }


def test_send_custom_verification_email(
    v1: Any, verified: Callable[[str], Identity], account: Account, region: Region
) -> None:
    verified("example.com")
    v1.create_custom_verification_email_template(**TEMPLATE)

    with pytest.raises(ClientError) as exc_info:
        v1.send_custom_verification_email(EmailAddress="new@example.org", TemplateName="Welcome")
    assert error_of(exc_info)[0] == "ProductionAccessNotGranted"

    account.region_settings(region).grant_production_access()
    sent = v1.send_custom_verification_email(EmailAddress="new@example.org", TemplateName="Welcome")
    assert sent["MessageId"]

    with pytest.raises(ClientError) as exc_info:
        v1.send_custom_verification_email(EmailAddress="new@example.org", TemplateName="Nope")
    assert error_of(exc_info)[0] == "CustomVerificationEmailTemplateDoesNotExist"
    with pytest.raises(ClientError) as exc_info:
        v1.send_custom_verification_email(
            EmailAddress="new@example.org", TemplateName="Welcome", ConfigurationSetName="cs"
        )
    assert error_response(exc_info)["ConfigurationSetName"] == "cs"


# --- configuration sets -------------------------------------------------------------------------
def test_configuration_set_lifecycle_shared_with_v2(v1: Any, v2: Any) -> None:
    assert strip(v1.create_configuration_set(ConfigurationSet={"Name": "cs-1"})) == {}
    v2.create_configuration_set(
        ConfigurationSetName="cs-2", DeliveryOptions={"TlsPolicy": "REQUIRE"}
    )

    assert v1.list_configuration_sets()["ConfigurationSets"] == [{"Name": "cs-1"}, {"Name": "cs-2"}]
    assert strip(
        v1.describe_configuration_set(
            ConfigurationSetName="cs-2",
            ConfigurationSetAttributeNames=[
                "deliveryOptions",
                "reputationOptions",
                "eventDestinations",
            ],
        )
    ) == {
        "ConfigurationSet": {"Name": "cs-2"},
        "EventDestinations": [],
        "DeliveryOptions": {"TlsPolicy": "Require"},
        "ReputationOptions": {"SendingEnabled": True, "ReputationMetricsEnabled": False},
    }
    assert strip(v1.describe_configuration_set(ConfigurationSetName="cs-1")) == {
        "ConfigurationSet": {"Name": "cs-1"}
    }
    assert strip(v1.delete_configuration_set(ConfigurationSetName="cs-1")) == {}
    assert v2.list_configuration_sets()["ConfigurationSets"] == ["cs-2"]


def test_configuration_sets_page(v1: Any) -> None:
    for name in ("a", "b", "c"):
        v1.create_configuration_set(ConfigurationSet={"Name": name})

    first = v1.list_configuration_sets(MaxItems=2)
    second = v1.list_configuration_sets(MaxItems=2, NextToken=first["NextToken"])

    assert first["ConfigurationSets"] == [{"Name": "a"}, {"Name": "b"}]
    assert strip(second) == {"ConfigurationSets": [{"Name": "c"}]}


def test_configuration_set_already_exists(v1: Any) -> None:
    v1.create_configuration_set(ConfigurationSet={"Name": "cs"})

    with pytest.raises(ClientError) as exc_info:
        v1.create_configuration_set(ConfigurationSet={"Name": "cs"})

    assert exc_info.value.__class__.__name__ == "ConfigurationSetAlreadyExistsException"
    assert error_response(exc_info)["ConfigurationSetName"] == "cs"


def test_configuration_set_invalid_name(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.create_configuration_set(ConfigurationSet={"Name": "bad name!"})

    assert error_of(exc_info) == (
        "InvalidConfigurationSet",
        "“bad name!” is not a valid configuration set name. Use 1–64 letters, digits, "
        "underscores and hyphens.",
        400,
    )


def test_delete_missing_configuration_set(v1: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        v1.delete_configuration_set(ConfigurationSetName="nope")

    assert exc_info.value.__class__.__name__ == "ConfigurationSetDoesNotExistException"
    assert error_of(exc_info) == (
        "ConfigurationSetDoesNotExist",
        "Configuration set <nope> does not exist.",
        400,
    )


# --- account ------------------------------------------------------------------------------------
def test_send_quota_follows_production_access(
    v1: Any, v2: Any, account: Account, region: Region
) -> None:
    assert strip(v1.get_send_quota()) == {
        "Max24HourSend": 200.0,
        "MaxSendRate": 1.0,
        "SentLast24Hours": 0.0,
    }

    account.region_settings(region).grant_production_access()

    quota = strip(v1.get_send_quota())
    assert quota == {key: float(value) for key, value in v2.get_account()["SendQuota"].items()}
    assert quota["Max24HourSend"] == 50000.0


def test_account_sending_enabled(v1: Any, account: Account, region: Region) -> None:
    assert strip(v1.get_account_sending_enabled()) == {"Enabled": True}


def test_send_statistics_always_has_the_list(v1: Any) -> None:
    assert strip(v1.get_send_statistics()) == {"SendDataPoints": []}
