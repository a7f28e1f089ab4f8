"""SES v1 SendEmail and SendRawEmail: translate the parameters, call `sending.operations.send`.

The one table below maps each refusal kind to the v1 error code and HTTP status
(ses-v1-api.md §2.3, ses-sending.md). Parameters map as SES documents them: `Source` is the
sender (display name allowed) that must be verified, `ReturnPath` the feedback address,
`SourceArn` / `ReturnPathArn` the identities of sending authorization; for SendRawEmail,
`Destinations` is the envelope (else the To, Cc and Bcc headers) and `FromArn` (or, without it,
`SourceArn`) the identity that authorises the From address. v1 messages may be 10 MB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.wire import Call
from sending.errors import RefusalKind, SendRefused
from sending.operations import V1_MAX_MESSAGE_SIZE, Outgoing, Simple, send

from .errors import QueryError

V1_ERRORS: dict[RefusalKind, tuple[str, int]] = {
    RefusalKind.MESSAGE_REJECTED: ("MessageRejected", 400),
    RefusalKind.MAIL_FROM_NOT_VERIFIED: ("MailFromDomainNotVerifiedException", 400),
    RefusalKind.CONFIGURATION_SET_NOT_FOUND: ("ConfigurationSetDoesNotExist", 400),
    RefusalKind.CONFIGURATION_SET_SENDING_PAUSED: ("ConfigurationSetSendingPausedException", 400),
    RefusalKind.SENDING_PAUSED: ("AccountSendingPausedException", 400),
    RefusalKind.RATE_EXCEEDED: ("Throttling", 400),
    RefusalKind.DAILY_QUOTA_EXCEEDED: ("Throttling", 400),
    RefusalKind.ACCESS_DENIED: ("AccessDenied", 403),
    RefusalKind.INVALID_PARAMETER: ("InvalidParameterValue", 400),
    RefusalKind.TOO_MANY_RECIPIENTS: ("InvalidParameterValue", 400),
    RefusalKind.TOO_LARGE: ("InvalidParameterValue", 400),
    RefusalKind.NOT_FOUND: ("InvalidParameterValue", 400),
}


def _send(outgoing: Outgoing) -> dict[str, Any]:
    try:
        message = send(outgoing)
    except SendRefused as exc:
        code, status = V1_ERRORS[exc.kind]
        extra = {}
        if exc.kind == RefusalKind.CONFIGURATION_SET_NOT_FOUND and outgoing.configuration_set_name:
            extra["ConfigurationSetName"] = outgoing.configuration_set_name
        raise QueryError(code, exc.message, status, extra=extra) from None
    return {"MessageId": message.message_id}


def _tags(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(tag["Name"], tag["Value"]) for tag in body.get("Tags", [])]


def send_email(call: Call) -> dict[str, Any]:
    body = call.body
    destination = body["Destination"]
    message = body["Message"]
    text, html = message["Body"].get("Text"), message["Body"].get("Html")
    return _send(
        Outgoing(
            account=call.account,
            region=call.region.code,
            actor=call.actor,
            operation="SendEmail",
            from_address=body["Source"],
            to=destination.get("ToAddresses", []),
            cc=destination.get("CcAddresses", []),
            bcc=destination.get("BccAddresses", []),
            reply_to=body.get("ReplyToAddresses", []),
            simple=Simple(
                subject=message["Subject"]["Data"],
                subject_charset=message["Subject"].get("Charset"),
                text=text["Data"] if text else None,
                text_charset=text.get("Charset") if text else None,
                html=html["Data"] if html else None,
                html_charset=html.get("Charset") if html else None,
            ),
            feedback_forwarding_address=body.get("ReturnPath"),
            configuration_set_name=body.get("ConfigurationSetName"),
            tags=_tags(body),
            from_identity_arn=body.get("SourceArn"),
            feedback_forwarding_identity_arn=body.get("ReturnPathArn"),
            max_size=V1_MAX_MESSAGE_SIZE,
        )
    )


def send_raw_email(call: Call) -> dict[str, Any]:
    body = call.body
    return _send(
        Outgoing(
            account=call.account,
            region=call.region.code,
            actor=call.actor,
            operation="SendRawEmail",
            from_address=body.get("Source"),
            raw=body["RawMessage"]["Data"],
            envelope_recipients=body.get("Destinations"),
            configuration_set_name=body.get("ConfigurationSetName"),
            tags=_tags(body),
            from_identity_arn=body.get("FromArn") or body.get("SourceArn"),
            feedback_forwarding_identity_arn=body.get("ReturnPathArn"),
            max_size=V1_MAX_MESSAGE_SIZE,
        )
    )


ACTIONS: dict[str, Callable[[Call], dict[str, Any] | None]] = {
    "SendEmail": send_email,
    "SendRawEmail": send_raw_email,
}
