"""The `aws ses` CLI against the live server, with --endpoint-url and with AWS_ENDPOINT_URL_SES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import KeyPair

AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture
def aws(live_server: Any, owner_key: KeyPair, tmp_path: Path) -> Any:
    base_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": owner_key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": owner_key.secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }

    def run(command: str, *, endpoint: str = "env") -> subprocess.CompletedProcess[str]:
        args = command.split()
        assert args[0] == "aws"
        env = dict(base_env)
        if endpoint == "env":
            env["AWS_ENDPOINT_URL_SES"] = live_server.url
        else:
            args[1:1] = ["--endpoint-url", live_server.url]
        return subprocess.run(
            [AWS, *args[1:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    return run


@pytest.mark.parametrize("endpoint", ["env", "option"])
def test_cli_identity_lifecycle(aws: Any, endpoint: str) -> None:
    verified = aws("aws ses verify-email-identity --email-address a@example.com", endpoint=endpoint)
    domain = aws("aws ses verify-domain-identity --domain example.com", endpoint=endpoint)
    listed = aws("aws ses list-identities", endpoint=endpoint)
    attributes = aws(
        "aws ses get-identity-verification-attributes --identities example.com a@example.com",
        endpoint=endpoint,
    )
    deleted = aws("aws ses delete-identity --identity a@example.com", endpoint=endpoint)
    after = aws("aws ses list-identities --identity-type EmailAddress", endpoint=endpoint)

    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", "")
    token = json.loads(domain.stdout)["VerificationToken"]
    assert json.loads(listed.stdout) == {"Identities": ["a@example.com", "example.com"]}
    assert json.loads(attributes.stdout) == {
        "VerificationAttributes": {
            "example.com": {"VerificationStatus": "Pending", "VerificationToken": token},
            "a@example.com": {"VerificationStatus": "Pending"},
        }
    }
    assert (deleted.returncode, deleted.stdout, deleted.stderr) == (0, "", "")
    assert json.loads(after.stdout) == {"Identities": []}


def test_cli_error_is_reported_with_the_v1_code(aws: Any) -> None:
    result = aws("aws ses describe-configuration-set --configuration-set-name nope")

    assert result.returncode == 255  # aws-cli v1: any service error
    assert result.stderr.strip() == (
        "An error occurred (ConfigurationSetDoesNotExist) when calling the "
        "DescribeConfigurationSet operation: Configuration set <nope> does not exist."
    )
