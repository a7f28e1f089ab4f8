"""SendEmail (`POST /v2/email/outbound-emails`): translate the body, call sending.send.

The one table below maps each refusal kind to the v2 error code and HTTP status. Choices for
what SES does not document (ses-sending §13): Content with zero or several of Simple/Raw/
Template is a BadRequestException; Template is refused as not supported yet (README);
`EndpointId` and `ConfigurationOverrides` are accepted and ignored (sesconsole has one
endpoint per region and none of the settings they override); any `TenantName` and any
`ListManagementOptions` contact list are a NotFoundException (sesconsole has no tenants and
no contact lists); a daily quota error is a 429 like the rate error.
"""

from __future__ import annotations

from typing import Any

from accounts import actors
from sending.errors import RefusalKind, SendRefused
from sending.operations import Attachment, Outgoing, Simple, send

from .auth import KeyNotConfirmed
from .errors import ApiError, bad_request, not_found
from .wire import Call

V2_ERRORS: dict[RefusalKind, tuple[str, int]] = {
    RefusalKind.MESSAGE_REJECTED: ("MessageRejected", 400),
    RefusalKind.MAIL_FROM_NOT_VERIFIED: ("MailFromDomainNotVerifiedException", 400),
    RefusalKind.CONFIGURATION_SET_NOT_FOUND: ("NotFoundException", 404),
    RefusalKind.CONFIGURATION_SET_SENDING_PAUSED: ("SendingPausedException", 400),
    RefusalKind.SENDING_PAUSED: ("SendingPausedException", 400),
    RefusalKind.RATE_EXCEEDED: ("TooManyRequestsException", 429),
    RefusalKind.DAILY_QUOTA_EXCEEDED: ("TooManyRequestsException", 429),
    RefusalKind.ACCESS_DENIED: ("AccessDeniedException", 403),
    RefusalKind.INVALID_PARAMETER: ("BadRequestException", 400),
    RefusalKind.TOO_MANY_RECIPIENTS: ("BadRequestException", 400),
    RefusalKind.TOO_LARGE: ("BadRequestException", 400),
    RefusalKind.NOT_FOUND: ("NotFoundException", 404),
}


def send_email(call: Call) -> dict[str, Any]:
    body = call.body
    if "TenantName" in body:
        raise not_found(
            f"Tenant {body['TenantName']} does not exist. sesconsole has no tenants: send "
            "without TenantName."
        )
    if "ListManagementOptions" in body:
        name = body["ListManagementOptions"]["ContactListName"]
        raise not_found(
            f"List with name {name} does not exist. sesconsole has no contact lists: send "
            "without ListManagementOptions."
        )
    content = body["Content"]
    kinds = [kind for kind in ("Simple", "Raw", "Template") if kind in content]
    if len(kinds) != 1:
        raise bad_request("Content must have exactly one of Simple, Raw or Template.")
    if kinds[0] == "Template":
        raise bad_request(
            "Email templates are not supported yet: send Simple or Raw content instead."
        )
    destination = body.get("Destination", {})
    to = destination.get("ToAddresses", [])
    cc = destination.get("CcAddresses", [])
    bcc = destination.get("BccAddresses", [])
    raw = content["Raw"]["Data"] if "Raw" in content else None
    outgoing = Outgoing(
        account=call.account,
        region=call.region,
        actor=actors.api(call.access_key.access_key_id),
        operation="SendEmail",
        from_address=body.get("FromEmailAddress"),
        to=to if raw is None else [],
        cc=cc if raw is None else [],
        bcc=bcc if raw is None else [],
        reply_to=body.get("ReplyToAddresses", []),
        simple=_simple(content["Simple"]) if raw is None else None,
        raw=raw,
        # Raw content: Destination, when given, is the envelope (django-ses puts every
        # recipient in ToAddresses and leaves the MIME headers as they are).
        envelope_recipients=[*to, *cc, *bcc] if raw is not None and destination else None,
        feedback_forwarding_address=body.get("FeedbackForwardingEmailAddress"),
        configuration_set_name=body.get("ConfigurationSetName"),
        tags=[(tag["Name"], tag["Value"]) for tag in body.get("EmailTags", [])],
        from_identity_arn=body.get("FromEmailAddressIdentityArn"),
        feedback_forwarding_identity_arn=body.get("FeedbackForwardingEmailAddressIdentityArn"),
        key_check=call.key_check,
    )
    try:
        message = send(outgoing)
    except SendRefused as exc:
        if exc.kind is RefusalKind.KEY_NOT_ACTIVE:
            raise KeyNotConfirmed from None  # api.views decides what follows
        code, status = V2_ERRORS[exc.kind]
        raise ApiError(code, exc.message, status) from None
    return {"MessageId": message.message_id}


def _simple(simple: dict[str, Any]) -> Simple:
    body = simple["Body"]
    text, html = body.get("Text"), body.get("Html")
    return Simple(
        subject=simple["Subject"]["Data"],
        subject_charset=simple["Subject"].get("Charset"),
        text=text["Data"] if text else None,
        text_charset=text.get("Charset") if text else None,
        html=html["Data"] if html else None,
        html_charset=html.get("Charset") if html else None,
        headers=[(header["Name"], header["Value"]) for header in simple.get("Headers", [])],
        attachments=[
            Attachment(
                content=attachment["RawContent"],
                filename=attachment["FileName"],
                content_type=attachment.get("ContentType", ""),
                disposition=attachment.get("ContentDisposition", "ATTACHMENT"),
                description=attachment.get("ContentDescription", ""),
                content_id=attachment.get("ContentId", ""),
                transfer_encoding=attachment.get("ContentTransferEncoding", ""),
            )
            for attachment in simple.get("Attachments", [])
        ],
    )
