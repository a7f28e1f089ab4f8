"""Why a send was refused: one exception, one enum of kinds, SES's message text.

`send()` raises `SendRefused(kind, message)`; each entry point (v2 API, v1 API, SMTP, console)
maps the kind to its own dialect in ONE table of its own (v2 error code and HTTP status, v1
code, SMTP reply). The message is SES's text where SES has one, and says what to fix.
"""

from __future__ import annotations

import enum


class RefusalKind(enum.Enum):
    """The reasons SES gives for not accepting a message, by the family of error they are."""

    # v2 MessageRejected / v1 MessageRejected / SMTP 554 Message rejected
    MESSAGE_REJECTED = "MESSAGE_REJECTED"
    # v2 MailFromDomainNotVerifiedException / v1 same / SMTP 554 Transaction failed
    MAIL_FROM_NOT_VERIFIED = "MAIL_FROM_NOT_VERIFIED"
    # v2 NotFoundException / v1 ConfigurationSetDoesNotExist
    CONFIGURATION_SET_NOT_FOUND = "CONFIGURATION_SET_NOT_FOUND"
    # v2 AccountSuspendedException-like / v1 ConfigurationSetSendingPausedException
    CONFIGURATION_SET_SENDING_PAUSED = "CONFIGURATION_SET_SENDING_PAUSED"
    # v2 SendingPausedException / v1 AccountSendingPausedException / SMTP 554
    SENDING_PAUSED = "SENDING_PAUSED"
    # v2 429 TooManyRequestsException / v1 Throttling / SMTP 454 Throttling failure
    RATE_EXCEEDED = "RATE_EXCEEDED"
    DAILY_QUOTA_EXCEEDED = "DAILY_QUOTA_EXCEEDED"
    # v2 403 AccessDeniedException / v1 403 AccessDenied / SMTP 554 Access denied
    ACCESS_DENIED = "ACCESS_DENIED"
    # v2 BadRequestException / v1 InvalidParameterValue / SMTP 554 Transaction failed
    INVALID_PARAMETER = "INVALID_PARAMETER"
    TOO_MANY_RECIPIENTS = "TOO_MANY_RECIPIENTS"
    # v2 BadRequestException / v1 InvalidParameterValue / SMTP 552 Message is too long.
    TOO_LARGE = "TOO_LARGE"
    # v2 NotFoundException (TenantName, identity ARN of nothing) / v1 InvalidParameterValue
    NOT_FOUND = "NOT_FOUND"
    # Outgoing.key_check failed. SMTP: the key an open session logged in with was deactivated
    # or deleted since its AUTH, 535. The v2 API authenticates the request again (api.views).
    KEY_NOT_ACTIVE = "KEY_NOT_ACTIVE"


class SendRefused(Exception):
    """The message was not accepted; nothing was stored or counted."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"SendRefused({self.kind.name}, {self.message!r})"


def not_verified(region: str, failed: list[tuple[str, str]]) -> SendRefused:
    """SES's one text for unverified senders and sandbox recipients (ses-sending §4).

    `failed` holds (value as given, bare address): an address given with a display name is
    listed both ways, as SES lists it (`Jo <jo@x.com>, jo@x.com`).
    """
    shown: list[str] = []
    for pair in failed:
        for value in pair:
            if value not in shown:
                shown.append(value)
    return SendRefused(
        RefusalKind.MESSAGE_REJECTED,
        "Email address is not verified. The following identities failed the check in region "
        f"{region.upper()}: {', '.join(shown)}",
    )
