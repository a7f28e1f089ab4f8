"""SES v1 error codes, and the one table that turns the v2 dialect's errors into them.

The operations below the API raise `ValidationError` subclasses and the shared pieces of the
v2 dialect (`api.shapes`, `api.sigv4`, `api.auth`) raise `ApiError` / `SigV4Error` with v2
codes. A v1 request answers with the v1 Query codes instead (ses-v1-api.md §2.3 and §3):
`from_v2` is where that translation happens, once.

Choices where the spec says UNVERIFIED (recorded here, in one place):
- an expired or not-yet-valid signature is `RequestExpired` (400); a credential scoped to a
  region this server does not serve is `SignatureDoesNotMatch` (403), as Query services
  answer scope errors;
- a server fault is `InternalFailure` (500) with `<Type>Receiver</Type>`;
- requests other than POST to the Query endpoint are `InvalidAction` (400);
- rate limiting, were it applied, would be `Throttling` (400).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from api.errors import ApiError, from_validation_error
from api.sigv4 import ClockSkewError, SigV4Error


class QueryError(Exception):
    """An error answered in the v1 ErrorResponse envelope. `extra` holds the members the
    model declares on the error shape (ConfigurationSetName, …), written inside <Error>."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}


def invalid_parameter(message: str) -> QueryError:
    return QueryError("InvalidParameterValue", message)


def configuration_set_does_not_exist(name: str) -> QueryError:
    return QueryError(
        "ConfigurationSetDoesNotExist",
        f"Configuration set <{name}> does not exist.",
        extra={"ConfigurationSetName": name},
    )


def template_does_not_exist(name: str) -> QueryError:
    return QueryError(
        "CustomVerificationEmailTemplateDoesNotExist",
        f"Custom verification email template <{name}> does not exist.",
        extra={"CustomVerificationEmailTemplateName": name},
    )


# v2 code -> (v1 code, HTTP status). Codes not listed keep their name and status.
V2_TO_V1: dict[str, tuple[str, int]] = {
    "BadRequestException": ("InvalidParameterValue", 400),
    "NotFoundException": ("InvalidParameterValue", 400),
    "AlreadyExistsException": ("InvalidParameterValue", 400),
    "LimitExceededException": ("LimitExceeded", 400),
    "TooManyRequestsException": ("Throttling", 400),
    "ConflictException": ("InvalidParameterValue", 400),
    "MessageRejected": ("MessageRejected", 400),
    "InternalServiceErrorException": ("InternalFailure", 500),
    # Authentication (api.sigv4 / api.auth)
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "XAmzContentSHA256Mismatch": ("SignatureDoesNotMatch", 403),
    "InvalidArgument": ("IncompleteSignature", 400),
}


def from_v2(exc: ApiError | SigV4Error | ValidationError) -> QueryError:
    """The v1 answer to an error raised in the v2 dialect's terms."""
    if isinstance(exc, ClockSkewError):
        return QueryError("RequestExpired", f"Request has expired. {exc.message}", 400)
    if isinstance(exc, ValidationError):
        exc = from_validation_error(exc)
    code, status = V2_TO_V1.get(exc.code, (exc.code, exc.status))
    return QueryError(code, exc.message, status)
