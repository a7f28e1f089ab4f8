"""SES v2 SendEmail through boto3 against a live server: shapes, errors, delivery to a relay."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from django.utils import timezone

from api import body_size
from identities.models import ConfigurationSet, Identity, IdentityPolicy
from sending.models import SendingUsage, SentMessage, Status
from sesconsole.celery import app as celery_app
from tests.api.conftest import error_of
from tests.support.smtp_server import SmtpSink


@pytest.fixture
def eager() -> Iterator[None]:
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def simple(subject: str = "Hello", text: str = "Hi there.") -> dict[str, Any]:
    return {"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}}


def test_send_email_simple_is_relayed_with_its_message_id(
    ses: Any,
    verified_domain: Callable[..., Identity],
    production: None,
    relay: SmtpSink,
    eager: None,
) -> None:
    verified_domain("example.com")
    answer = ses.send_email(
        FromEmailAddress="Sender <sender@example.com>",
        Destination={"ToAddresses": ["someone@elsewhere.test"]},
        Content=simple(),
    )
    message_id = answer["MessageId"]
    assert SentMessage.objects.get(message_id=message_id).status == Status.DELIVERED
    [envelope] = relay.handler.envelopes
    assert envelope.mail_from == f"{message_id}@amazonses.com"
    assert envelope.rcpt_tos == ["someone@elsewhere.test"]
    [received] = relay.messages
    assert received["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert received["From"] == "Sender <sender@example.com>"


def test_send_email_unverified_sender_is_message_rejected(ses: Any) -> None:
    with pytest.raises(ses.exceptions.MessageRejected) as exc_info:
        ses.send_email(
            FromEmailAddress="sender@nowhere.test",
            Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
            Content=simple(),
        )
    assert error_of(exc_info) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: sender@nowhere.test",
        400,
    )


def test_send_email_template_content_is_not_supported_yet(ses: Any) -> None:
    with pytest.raises(ses.exceptions.BadRequestException) as exc_info:
        ses.send_email(
            FromEmailAddress="sender@example.com",
            Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
            Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        )
    assert error_of(exc_info) == (
        "BadRequestException",
        "Email templates are not supported yet: send Simple or Raw content instead.",
        400,
    )


def send(client: Any, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["success@simulator.amazonses.com"]},
        "Content": simple(),
        **overrides,
    }
    return client.send_email(**values)


def refused(client: Any, **overrides: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc_info:
        send(client, **overrides)
    return error_of(exc_info)


@pytest.mark.parametrize(
    ("behavior", "expected"),
    [
        ("USE_DEFAULT_VALUE", "amazonses.com"),
        ("REJECT_MESSAGE", None),
    ],
)
def test_unverified_custom_mail_from_follows_its_behavior(
    ses: Any, verified_domain: Callable[..., Identity], behavior: str, expected: str | None
) -> None:
    domain = verified_domain("example.com")
    domain.set_mail_from("bounce.example.com", behavior)  # PENDING: not verified yet
    if expected is None:
        assert refused(ses) == (
            "MailFromDomainNotVerifiedException",
            "Mail FROM domain is not verified: the custom MAIL FROM domain bounce.example.com of "
            "example.com is Pending, and its behavior on MX failure is Reject message. Publish "
            "its MX and SPF records, or choose Use default MAIL FROM domain.",
            400,
        )
        return
    message_id = send(ses)["MessageId"]
    assert SentMessage.objects.get(message_id=message_id).envelope_from == (
        f"{message_id}@{expected}"
    )


def test_verified_custom_mail_from_is_the_envelope_sender(
    ses: Any, verified_domain: Callable[..., Identity]
) -> None:
    domain = verified_domain("example.com")
    domain.set_mail_from("bounce.example.com", "REJECT_MESSAGE")
    Identity.objects.filter(pk=domain.pk).update(mail_from_status="SUCCESS")
    message_id = send(ses)["MessageId"]
    assert SentMessage.objects.get(message_id=message_id).envelope_from == (
        f"{message_id}@bounce.example.com"
    )


def test_most_specific_identity_settings_apply(
    ses: Any, verified_domain: Callable[..., Identity], account: Any, region: Any
) -> None:
    ConfigurationSet.objects.create(account=account, region=region, name="parent-set")
    ConfigurationSet.objects.create(account=account, region=region, name="child-set")
    ConfigurationSet.objects.create(account=account, region=region, name="named")
    verified_domain("example.com").set_configuration_set("parent-set")
    verified_domain("b.example.com").set_configuration_set("child-set")
    first = send(ses, FromEmailAddress="user@b.example.com")["MessageId"]
    stored = SentMessage.objects.get(message_id=first)
    assert (stored.identity_name, stored.configuration_set_name) == ("b.example.com", "child-set")
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        second = send(ses, FromEmailAddress="user@b.example.com", ConfigurationSetName="named")
    assert SentMessage.objects.get(message_id=second["MessageId"]).configuration_set_name == (
        "named"
    )


def test_named_configuration_set_that_does_not_exist_is_not_found(
    ses: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    assert refused(ses, ConfigurationSetName="missing") == (
        "NotFoundException",
        "Configuration set missing does not exist.",
        404,
    )


def test_rate_and_daily_quota_errors(
    ses: Any, verified_domain: Callable[..., Identity], account: Any, region: Any
) -> None:
    verified_domain("example.com")
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False) as clock:
        send(ses)
        assert refused(ses) == ("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
        clock.shift(1)
        SendingUsage.objects.create(
            account=account, region=region, minute=timezone.now(), recipients=200
        )
        verified_email = "me@example.com"
        assert refused(ses, Destination={"ToAddresses": [verified_email]}) == (
            "TooManyRequestsException",
            "Daily message quota exceeded.",
            429,
        )
        # Mailbox simulator recipients don't count against the daily quota.
        send(ses)
        quota = ses.get_account()["SendQuota"]
    assert quota == {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 200.0}


def test_send_quota_counts_recipients(
    ses: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")
    send(ses, Destination={"ToAddresses": ["a@x.test", "b@x.test"], "BccAddresses": ["c@x.test"]})
    assert ses.get_account()["SendQuota"] == {
        "Max24HourSend": 50000.0,
        "MaxSendRate": 14.0,
        "SentLast24Hours": 3.0,
    }


def test_limits_are_refused_with_what_to_fix(
    ses: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")
    many = [f"r{n}@x.test" for n in range(51)]
    assert refused(ses, Destination={"ToAddresses": many}) == (
        "BadRequestException",
        "Recipient count exceeds 50.",
        400,
    )
    assert refused(ses, EmailTags=[{"Name": "a b", "Value": "v"}]) == (
        "BadRequestException",
        "Invalid tag name a b: only alphanumeric ASCII characters, '_',  '-' are allowed.",
        400,
    )
    assert refused(ses, EmailTags=[{"Name": "campaign", "Value": "x!"}]) == (
        "BadRequestException",
        "Invalid tag value x!: only alphanumeric ASCII characters, '_',  '-' , '.', '@' are "
        "allowed.",
        400,
    )


def test_tags_are_checked_before_the_sender(ses: Any) -> None:
    code, message, _ = refused(
        ses, FromEmailAddress="x@nowhere.test", EmailTags=[{"Name": "", "Value": "v"}]
    )
    assert (code, message) == ("BadRequestException", "The tag name must be specified.")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"Content": simple(subject="Hi\r\nBcc: victim@x.test")},
            "The subject must not contain line breaks (CR or LF). Remove them.",
        ),
        (
            {"FromEmailAddress": "Evil\r\nBcc: victim@x.test <sender@example.com>"},
            "Illegal address (line breaks are not allowed): 'Evil\\r\\nBcc: victim@x.test "
            "<sender@example.com>' in FromEmailAddress. Write an address as name@example.com or "
            '"Display Name <name@example.com>".',
        ),
    ],
)
def test_header_injection_is_refused(
    ses: Any, verified_domain: Callable[..., Identity], overrides: dict[str, Any], message: str
) -> None:
    verified_domain("example.com")
    assert refused(ses, **overrides) == ("BadRequestException", message, 400)
    assert SentMessage.objects.count() == 0


def test_custom_header_value_with_line_break_is_refused(
    ses: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    content = simple()
    content["Simple"]["Headers"] = [{"Name": "X-Campaign", "Value": "a\r\nBcc: victim@x.test"}]
    code, message, status = refused(ses, Content=content)
    assert (code, status) == ("BadRequestException", 400)
    assert "Headers[0].Value" in message or "header X-Campaign" in message


def test_another_accounts_domain_is_not_verified_for_the_caller(
    outsider_ses: Any, verified_domain: Callable[..., Identity]
) -> None:
    verified_domain("example.com")
    assert refused(outsider_ses) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: sender@example.com",
        400,
    )


def test_raw_content_uses_destination_as_envelope_and_strips_control_headers(
    ses: Any,
    verified_domain: Callable[..., Identity],
    production: None,
    relay: SmtpSink,
    eager: None,
    account: Any,
    region: Any,
) -> None:
    verified_domain("example.com")
    ConfigurationSet.objects.create(account=account, region=region, name="from-header")
    raw = (
        b"From: Sender <sender@example.com>\r\nTo: listed@x.test\r\nBcc: hidden@x.test\r\n"
        b"Subject: Raw\r\nMessage-ID: <mine@client>\r\nX-SES-CONFIGURATION-SET: from-header\r\n"
        b"X-SES-MESSAGE-TAGS: campaign=launch\r\nContent-Type: text/plain\r\n\r\nBody.\r\n"
    )
    message_id = ses.send_email(
        Content={"Raw": {"Data": raw}}, Destination={"ToAddresses": ["envelope@x.test"]}
    )["MessageId"]
    stored = SentMessage.objects.get(message_id=message_id)
    assert (stored.configuration_set_name, stored.tags) == ("from-header", [["campaign", "launch"]])
    [envelope] = relay.handler.envelopes
    assert envelope.rcpt_tos == ["envelope@x.test"]
    [received] = relay.messages
    assert received["Bcc"] is None
    assert received["X-SES-CONFIGURATION-SET"] is None
    assert received["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert received.get_content().strip() == "Body."


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: str, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": [principal]},
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": "arn:aws:ses:us-east-1:111111111111:identity/example.com",
        **extra,
    }


@pytest.fixture
def delegate(
    outsider_ses: Any, verified_domain: Callable[..., Identity], other_account: Any, region: Any
) -> Callable[..., tuple[str, str, int] | str]:
    """Send as the outsider (production, so recipients need no verification) from the owner's
    example.com; the owner's policies are set by the test. Returns the MessageId or the error."""
    domain = verified_domain("example.com")
    other_account.region_settings(region).grant_production_access()

    def attempt(*documents: str, **overrides: Any) -> tuple[str, str, int] | str:
        domain.policies.all().delete()
        for index, document in enumerate(documents):
            IdentityPolicy.objects.create(identity=domain, name=f"p{index}", document=document)
        values = {
            "FromEmailAddress": "Billing Team <billing@example.com>",
            "FromEmailAddressIdentityArn": domain.arn,
            "Destination": {"ToAddresses": ["customer@x.test"]},
            **overrides,
        }
        with time_machine.travel(timezone.now() + timedelta(seconds=5 * len(attempts))):
            attempts.append(1)
            try:
                return str(send(outsider_ses, **values)["MessageId"])
            except ClientError as exc:
                error = exc.response["Error"]
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                return (error["Code"], error["Message"], status)

    attempts: list[int] = []
    return attempt


DENIED = (
    "AccessDeniedException",
    "User `arn:aws:iam::222222222222:root' is not authorized to perform `ses:SendEmail' on "
    "resource `arn:aws:ses:us-east-1:111111111111:identity/example.com'",
    403,
)


def test_delegated_sending_needs_the_owners_policy(delegate: Callable[..., Any]) -> None:
    assert delegate() == DENIED
    message_id = delegate(policy(allow("222222222222")))
    stored = SentMessage.objects.get(message_id=message_id)
    assert (stored.account_id, stored.identity.account_id) == ("222222222222", "111111111111")
    assert stored.source_arn == "arn:aws:ses:us-east-1:111111111111:identity/example.com"
    assert delegate(policy(allow("333333333333"))) == DENIED


def test_policy_conditions_and_explicit_deny(delegate: Callable[..., Any]) -> None:
    from_billing = {"StringLike": {"ses:FromAddress": "billing*@example.com"}}
    only_x = {"ForAllValues:StringLike": {"ses:Recipients": ["*@x.test"]}}
    name = {"StringEquals": {"ses:FromDisplayName": "Billing Team"}}
    assert isinstance(
        delegate(
            policy(
                allow(
                    "arn:aws:iam::222222222222:root", Condition={**from_billing, **only_x, **name}
                )
            )
        ),
        str,
    )
    assert (
        delegate(
            policy(allow("222222222222", Condition=only_x)),
            Destination={"ToAddresses": ["customer@x.test", "other@y.test"]},
        )
        == DENIED
    )
    assert (
        delegate(
            policy(allow("222222222222", Condition=name)),
            FromEmailAddress="Other <billing@example.com>",
        )
        == DENIED
    )
    past = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    assert delegate(policy(allow("222222222222", Condition=past))) == DENIED
    deny = {
        **allow("*"),
        "Effect": "Deny",
        "Condition": {"StringEquals": {"ses:FromAddress": "billing@example.com"}},
    }
    assert delegate(policy(allow("222222222222")), policy(deny)) == DENIED


def test_delegate_cannot_use_an_address_the_identity_does_not_cover(
    delegate: Callable[..., Any],
) -> None:
    assert delegate(policy(allow("222222222222")), FromEmailAddress="a@elsewhere.test") == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: a@elsewhere.test",
        400,
    )


def test_simple_content_with_html_charset_headers_and_attachments(
    ses: Any,
    verified_domain: Callable[..., Identity],
    production: None,
    relay: SmtpSink,
    eager: None,
) -> None:
    verified_domain("example.com")
    ses.send_email(
        FromEmailAddress="Sender <sender@example.com>",
        Destination={"ToAddresses": ["to@x.test"], "CcAddresses": ["cc@x.test"]},
        ReplyToAddresses=["replies@example.com"],
        Content={
            "Simple": {
                "Subject": {"Data": "Grüße", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Hallo Welt", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>Hallo <b>Welt</b></p>", "Charset": "UTF-8"},
                },
                "Headers": [{"Name": "X-Campaign", "Value": "launch-1"}],
                "Attachments": [
                    {"RawContent": b"%PDF-1.4 fake", "FileName": "report.pdf"},
                    {
                        "RawContent": b"\x89PNG fake",
                        "FileName": "logo.png",
                        "ContentDisposition": "INLINE",
                        "ContentId": "logo@example.com",
                    },
                ],
            }
        },
    )
    [envelope] = relay.handler.envelopes
    assert sorted(envelope.rcpt_tos) == ["cc@x.test", "to@x.test"]
    [received] = relay.messages
    assert received["Subject"] == "Grüße"
    assert received["Reply-To"] == "replies@example.com"
    assert received["X-Campaign"] == "launch-1"
    assert received.get_body(("plain",)).get_content().strip() == "Hallo Welt"
    assert received.get_body(("html",)).get_content().strip() == "<p>Hallo <b>Welt</b></p>"
    attachments = {part.get_filename(): part for part in received.iter_attachments()}
    assert attachments["report.pdf"].get_content() == b"%PDF-1.4 fake"
    assert attachments["report.pdf"].get_content_type() == "application/pdf"
    assert attachments["logo.png"]["Content-ID"] == "<logo@example.com>"
    assert attachments["logo.png"].get_content_disposition() == "inline"


NUL_IN_HEADER = (
    b"From: Sender <sender@example.com>\r\nSubject: a\x00b\r\nTo: someone@x.test\r\n\r\nBody.\r\n"
)
NUL_REFUSAL = (
    "Line 2 of the raw message's header section contains a NUL byte. Remove it: header fields "
    "must be text."
)


def test_raw_content_with_a_nul_in_its_headers_is_bad_request(
    ses: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    verified_domain("example.com")
    with pytest.raises(ClientError) as exc_info:
        ses.send_email(Content={"Raw": {"Data": NUL_IN_HEADER}})

    assert error_of(exc_info) == ("BadRequestException", NUL_REFUSAL, 400)
    assert SentMessage.objects.count() == 0


# --- request body sizes (api.body_size) -------------------------------------------------------
def raw_message(size: int) -> bytes:
    """A raw message of about `size` bytes, in lines SES accepts (≤ 1,000 characters)."""
    head = (
        b"From: sender@example.com\r\nTo: someone@elsewhere.test\r\nSubject: Big\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
    )
    return head + (b"x" * 98 + b"\r\n") * (size // 100)


def test_send_email_raw_over_the_site_body_limit_is_accepted(
    ses: Any, verified_domain: Callable[..., Identity], production: None
) -> None:
    """11 MB of MIME is 15 MB of JSON, over the 12 MB every other endpoint takes."""
    verified_domain("example.com")
    raw = raw_message(11 * 1024 * 1024)

    message_id = ses.send_email(Content={"Raw": {"Data": raw}})["MessageId"]

    assert len(SentMessage.objects.get(message_id=message_id).mime) > len(raw) - 1000


def test_other_operations_keep_the_site_body_limit(ses: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    with pytest.raises(ClientError) as exc_info:
        ses.create_custom_verification_email_template(
            TemplateName="big",
            FromEmailAddress="sender@example.com",
            TemplateSubject="Verify",
            TemplateContent="<p>" + "x" * 70_000 + "</p>",
            SuccessRedirectionURL="https://example.com/ok",
            FailureRedirectionURL="https://example.com/failed",
        )
    code, message, status = error_of(exc_info)
    assert (code, status) == ("BadRequestException", 400)
    assert message.endswith("bytes and at most 65,536 are accepted. Send less data in one request.")


def test_send_email_body_over_ses_limit_is_refused_before_reading(rf: Any) -> None:
    """A body over SendEmail's limit (a 40 MB message, base64) is refused by its
    Content-Length: nothing is read."""
    request = rf.post("/v2/email/outbound-emails", b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(body_size.V2_SEND_BODY_LIMIT + 1)
    with pytest.raises(body_size.BodyTooLarge):
        body_size.read_body(request, body_size.V2_SEND_BODY_LIMIT)
    assert body_size.V2_SEND_BODY_LIMIT >= 40 * 1024 * 1024 * 4 // 3


@pytest.mark.parametrize(
    "headers",
    [
        [("Sender", ".:")],  # the email package's address parser fails on it
        [("Sender", "a@example.com"), ("Sender", "b@example.com")],  # at most one Sender
    ],
)
def test_a_custom_header_the_message_cannot_hold_is_refused(
    ses: Any, verified_domain: Callable[..., Identity], headers: list[tuple[str, str]]
) -> None:
    verified_domain("example.com")
    content = simple()
    content["Simple"]["Headers"] = [{"Name": name, "Value": value} for name, value in headers]
    code, message, status = refused(ses, Content=content)
    assert (code, status) == ("BadRequestException", 400)
    assert f"header {headers[-1][0]}" in message
    assert SentMessage.objects.count() == 0
