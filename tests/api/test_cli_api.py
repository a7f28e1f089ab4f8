"""The aws CLI examples from the SES guide, run verbatim (docs/design.md, "The SES guide's CLI
examples")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account, Region
from identities.models import ConfigurationSet, Identity, IdentityType

from .conftest import KeyPair

AWS = str(Path(sys.executable).parent / "aws")
# The guide's customverificationemail.json, line breaks in TemplateContent removed as it says.
CUSTOM_VERIFICATION_EMAIL_JSON = """{ "TemplateName": "SampleTemplate", "FromEmailAddress": "sender@example.com", "TemplateSubject": "Please confirm your email address", "TemplateContent": "<html> <head></head> <body style='font-family:sans-serif;'> <h1 style='text-align:center'>Ready to start sending email with ProductName?</h1> <p>We here at Example Corp are happy to have you on board! There's just one last step to complete before you can start sending email. Just click the following link to verify your email address. Once we confirm that you're really you, we'll give you some additional information to help you get started with ProductName.</p> </body> </html>", "SuccessRedirectionURL": "https://www.example.com/verifysuccess", "FailureRedirectionURL": "https://www.example.com/verifyfailure" }"""


@pytest.fixture
def aws(live_server: Any, owner_key: KeyPair, tmp_path: Path) -> Any:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL_SESV2": live_server.url,
        "AWS_ACCESS_KEY_ID": owner_key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": owner_key.secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }

    def run(command: str) -> subprocess.CompletedProcess[str]:
        args = command.split()
        assert args[0] == "aws"
        return subprocess.run(
            [AWS, *args[1:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    return run


def test_cli_creates_and_lists_custom_verification_template(
    aws: Any, tmp_path: Path, account: Account, region: Region
) -> None:
    Identity.objects.create(
        account=account, region=region, identity_type=IdentityType.DOMAIN, name="example.com"
    ).mark_verified()
    (tmp_path / "customverificationemail.json").write_text(CUSTOM_VERIFICATION_EMAIL_JSON)

    created = aws(
        "aws sesv2 create-custom-verification-email-template "
        "--cli-input-json file://customverificationemail.json"
    )
    listed = aws("aws sesv2 list-custom-verification-email-templates")

    assert (created.returncode, created.stdout, created.stderr) == (0, "", "")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {
        "CustomVerificationEmailTemplates": [
            {
                "TemplateName": "SampleTemplate",
                "FromEmailAddress": "sender@example.com",
                "TemplateSubject": "Please confirm your email address",
                "SuccessRedirectionURL": "https://www.example.com/verifysuccess",
                "FailureRedirectionURL": "https://www.example.com/verifyfailure",
            }
        ]
    }


def test_cli_creates_identity_with_default_configuration_set(
    aws: Any, account: Account, region: Region
) -> None:
    # The guide's placeholders: ADDRESS-OR-DOMAIN is replaced by an address; CONFIG-SET is a
    # valid configuration set name as it stands.
    ConfigurationSet.objects.create(account=account, region=region, name="CONFIG-SET")

    result = aws(
        "aws sesv2 create-email-identity --email-identity sender@example.com "
        "--configuration-set-name CONFIG-SET"
    )

    # The guide says the command "exits without providing any output"; aws-cli v1 prints the
    # response's members, which for SES (and for us) are the type and the sending status.
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "IdentityType": "EMAIL_ADDRESS",
        "VerifiedForSendingStatus": False,
    }
    identity = Identity.objects.get(name="sender@example.com")
    assert identity.configuration_set_name == "CONFIG-SET"


def test_cli_reports_errors_like_aws(aws: Any) -> None:
    result = aws("aws sesv2 get-email-identity --email-identity missing.example.com")

    assert result.returncode == 254 or result.returncode == 255
    assert result.stderr.strip() == (
        "An error occurred (NotFoundException) when calling the GetEmailIdentity operation: "
        "Email identity missing.example.com does not exist in us-east-1."
    )


def test_cli_lists_identities_with_the_legacy_get_form(
    aws: Any, account: Account, region: Region
) -> None:
    Identity.objects.create(
        account=account, region=region, identity_type=IdentityType.DOMAIN, name="example.com"
    )

    result = aws("aws sesv2 list-email-identities")

    assert json.loads(result.stdout) == {
        "EmailIdentities": [
            {
                "IdentityType": "DOMAIN",
                "IdentityName": "example.com",
                "SendingEnabled": False,
                "VerificationStatus": "PENDING",
            }
        ]
    }
