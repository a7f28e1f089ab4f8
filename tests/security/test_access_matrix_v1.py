"""The access matrix for the SES v1 Query API, with boto3's `ses` client against the live
server: another account's key, in the owner's region and in another, finds none of the
owner's identities, policies, custom verification templates or configuration sets, and
changes none of them.

The property is checked as "another account's object answers exactly like a missing one":
each action that names an object is called twice by the outsider, once with the owner's name
and once with a name nobody has, and the two answers must be the same once the names are
swapped. A control call shows that the owner's own key does find the object, so an equal
answer means "not found", not "never looked". v1 has no action that names a sent message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from accounts.models import AccessKey, Account, Region
from api.v1.views import ACTIONS
from identities.models import Identity
from tests.security.conftest import World, owner_snapshot

pytestmark = pytest.mark.django_db(transaction=True)

Params = Callable[[str], dict[str, Any]]
OUTSIDER_ACCOUNT = "222222222222"
OUTSIDER_SENDER = "sender@outsider.example"
RECIPIENT = "someone@outsider.example"
# The stand-in for each kind of name: nobody has an object called this.
MISSING = {
    "domain": "missing-domain.example",
    "email": "nobody@missing-domain.example",
    "set": "missing-set",
    "template": "MissingTemplate",
}


def _owner_name(kind: str, world: World) -> str:
    return {
        "domain": world.domain.name,
        "email": world.email.name,
        "set": world.config_set.name,
        "template": world.template.name,
    }[kind]


def _simple(source: str, **extra: Any) -> dict[str, Any]:
    return {
        "Source": source,
        "Destination": {"ToAddresses": [RECIPIENT]},
        "Message": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hello"}}},
        **extra,
    }


def _raw(from_address: str, *headers: str) -> dict[str, Any]:
    lines = [f"From: {from_address}", f"To: {RECIPIENT}", "Subject: Hello", *headers, "", "Hi"]
    return {"RawMessage": {"Data": "\r\n".join(lines).encode()}}


def _identity_arn(name: str) -> str:
    return f"arn:aws:ses:us-east-1:111111111111:identity/{name}"


def _template(name: str) -> dict[str, Any]:
    return {
        "TemplateName": name,
        "FromEmailAddress": OUTSIDER_SENDER,
        "TemplateSubject": "Stolen",
        "TemplateContent": "<p>Stolen</p>",
        "SuccessRedirectionURL": "https://evil.example/ok",
        "FailureRedirectionURL": "https://evil.example/failed",
    }


# Every v1 action that names an object: (action, what it names, its parameters around the name).
# Reads, changes and sends first; deletions after; creations last (each makes the outsider an
# object of its own under the name, which later calls would then find).
NAMING_CALLS: list[tuple[str, str, Params]] = [
    ("GetIdentityVerificationAttributes", "domain", lambda n: {"Identities": [n]}),
    ("GetIdentityVerificationAttributes", "email", lambda n: {"Identities": [n]}),
    ("GetIdentityDkimAttributes", "domain", lambda n: {"Identities": [n]}),
    ("GetIdentityMailFromDomainAttributes", "domain", lambda n: {"Identities": [n]}),
    ("GetIdentityNotificationAttributes", "domain", lambda n: {"Identities": [n]}),
    ("ListIdentityPolicies", "domain", lambda n: {"Identity": n}),
    ("GetIdentityPolicies", "domain", lambda n: {"Identity": n, "PolicyNames": ["OwnerPolicy"]}),
    ("SetIdentityMailFromDomain", "domain",
     lambda n: {"Identity": n, "MailFromDomain": "stolen." + n}),
    ("SetIdentityDkimEnabled", "domain", lambda n: {"Identity": n, "DkimEnabled": False}),
    ("SetIdentityFeedbackForwardingEnabled", "email",
     lambda n: {"Identity": n, "ForwardingEnabled": False}),
    ("SetIdentityHeadersInNotificationsEnabled", "domain",
     lambda n: {"Identity": n, "NotificationType": "Bounce", "Enabled": True}),
    ("SetIdentityNotificationTopic", "domain",
     lambda n: {"Identity": n, "NotificationType": "Bounce",
                "SnsTopic": f"arn:aws:sns:us-east-1:{OUTSIDER_ACCOUNT}:stolen"}),
    ("PutIdentityPolicy", "domain",
     lambda n: {"Identity": n, "PolicyName": "Stolen",
                "Policy": json.dumps({"Version": "2012-10-17", "Statement": []})}),
    ("GetCustomVerificationEmailTemplate", "template", lambda n: {"TemplateName": n}),
    ("UpdateCustomVerificationEmailTemplate", "template",
     lambda n: {"TemplateName": n, "TemplateSubject": "Stolen"}),
    ("SendCustomVerificationEmail", "template",
     lambda n: {"EmailAddress": RECIPIENT, "TemplateName": n}),
    ("DescribeConfigurationSet", "set", lambda n: {"ConfigurationSetName": n}),
    ("SendEmail", "email", lambda n: _simple(n)),
    ("SendEmail", "set", lambda n: _simple(OUTSIDER_SENDER, ConfigurationSetName=n)),
    ("SendEmail", "domain", lambda n: _simple(f"ceo@{n}", SourceArn=_identity_arn(n))),
    ("SendRawEmail", "email", lambda n: _raw(n)),
    ("SendRawEmail", "set", lambda n: _raw(OUTSIDER_SENDER, f"X-SES-CONFIGURATION-SET: {n}")),
    ("SendRawEmail", "domain", lambda n: {**_raw(f"ceo@{n}"), "FromArn": _identity_arn(n)}),
    ("DeleteIdentityPolicy", "domain", lambda n: {"Identity": n, "PolicyName": "OwnerPolicy"}),
    ("DeleteIdentity", "domain", lambda n: {"Identity": n}),
    ("DeleteVerifiedEmailAddress", "email", lambda n: {"EmailAddress": n}),
    ("DeleteCustomVerificationEmailTemplate", "template", lambda n: {"TemplateName": n}),
    ("DeleteConfigurationSet", "set", lambda n: {"ConfigurationSetName": n}),
    ("VerifyEmailIdentity", "email", lambda n: {"EmailAddress": n}),
    ("VerifyEmailAddress", "email", lambda n: {"EmailAddress": n}),
    ("VerifyDomainIdentity", "domain", lambda n: {"Domain": n}),
    ("VerifyDomainDkim", "domain", lambda n: {"Domain": n}),
    ("CreateCustomVerificationEmailTemplate", "template", _template),
    ("CreateConfigurationSet", "set", lambda n: {"ConfigurationSet": {"Name": n}}),
]  # fmt: skip
# Answers that carry new random tokens: compared by shape (error, or which fields).
TOKEN_ANSWERS = {"VerifyDomainIdentity", "VerifyDomainDkim"}
# Actions of the caller's own account that name nothing: their answers must show none of the
# owner's names or figures.
ACCOUNT_CALLS = [
    "ListIdentities",
    "ListVerifiedEmailAddresses",
    "ListCustomVerificationEmailTemplates",
    "ListConfigurationSets",
    "GetSendQuota",
    "GetAccountSendingEnabled",
    "GetSendStatistics",
]
# The read-only calls whose answer to the owner shows the owner's object (the control).
CONTROL_CALLS = [
    call
    for call in NAMING_CALLS
    if call[0].startswith(("Get", "List", "Describe")) and call[0] != "GetIdentityPolicies"
]


def _snake(action: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")


def _answer(client: Any, action: str, params: dict[str, Any]) -> Any:
    """The answer without its request id: the result, or ("error", code, message)."""
    try:
        result = getattr(client, _snake(action))(**params)
    except ClientError as error:
        return ("error", error.response["Error"]["Code"], error.response["Error"]["Message"])
    result.pop("ResponseMetadata", None)
    return result


def _shape(answer: Any) -> Any:
    return answer[:2] if isinstance(answer, tuple) else sorted(answer)


@pytest.fixture
def make_ses(live_server: Any) -> Callable[..., Any]:
    session = boto3.Session()

    def make(key: AccessKey, secret: str, region_code: str = "us-east-1") -> Any:
        return session.client(
            "ses",
            region_name=region_code,
            endpoint_url=live_server.url,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    return make


@pytest.fixture
def outsider_ses(
    make_ses: Callable[..., Any], other_account: Account, other_region: Region
) -> Callable[[str], Any]:
    """The outsider's `ses` client in a region, where the outsider has a verified domain of
    its own and production access: its sends get past the sender and sandbox checks to the
    names under test."""
    key, secret = AccessKey.issue(other_account, description="outsider")

    def make(region_code: str) -> Any:
        region = Region.objects.get(code=region_code)
        own, _created = Identity.objects.get_or_create(
            account=other_account,
            region=region,
            name="outsider.example",
            defaults={"identity_type": "DOMAIN"},
        )
        own.mark_verified()
        other_account.region_settings(region).grant_production_access()
        return make_ses(key, secret, region_code)

    return make


def test_the_matrix_names_every_v1_action() -> None:
    named = {action for action, _kind, _params in NAMING_CALLS} | set(ACCOUNT_CALLS)
    assert named == set(ACTIONS)


def test_the_owners_key_finds_the_objects_the_matrix_names(
    world: World, make_ses: Callable[..., Any]
) -> None:
    owner = make_ses(world.access_key, world.access_key_secret)
    found = []
    for action, kind, params in CONTROL_CALLS:
        mine = _answer(owner, action, params(_owner_name(kind, world)))
        missing = _answer(owner, action, params(MISSING[kind]))
        found.append((action, kind, str(mine) != str(missing).replace(MISSING[kind], "x")))
    assert [entry for entry in found if not entry[2]] == []


@pytest.mark.parametrize("client_region", ["us-east-1", "eu-west-1"])
def test_another_accounts_objects_answer_like_missing_ones_and_do_not_change(
    world: World, outsider_ses: Callable[[str], Any], client_region: str
) -> None:
    client = outsider_ses(client_region)
    before = owner_snapshot(world.account)
    differences = []
    for action, kind, params in NAMING_CALLS:
        name, missing = _owner_name(kind, world), MISSING[kind]
        owners = _answer(client, action, params(name))
        nobodys = _answer(client, action, params(missing))
        if action in TOKEN_ANSWERS:
            owners, nobodys = _shape(owners), _shape(nobodys)
        if str(owners) != str(nobodys).replace(missing, name):
            differences.append((action, kind, owners, nobodys))
    assert differences == []
    assert owner_snapshot(world.account) == before


@pytest.mark.parametrize("client_region", ["us-east-1", "eu-west-1"])
def test_the_outsiders_own_account_actions_show_nothing_of_the_owner(
    world: World, outsider_ses: Callable[[str], Any], client_region: str
) -> None:
    client = outsider_ses(client_region)
    answers = {action: _answer(client, action, {}) for action in ACCOUNT_CALLS}
    leaks = [
        (action, name)
        for action, answer in answers.items()
        for name in world.private_names
        if name in str(answer)
    ]
    assert leaks == []
    assert answers["GetSendStatistics"] == {"SendDataPoints": []}
    assert answers["ListIdentities"] == {"Identities": ["outsider.example"]}
