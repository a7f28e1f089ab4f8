"""SES v2 error codes, their HTTP statuses, and the mapping from domain errors.

Every SESv2 error shape is empty in botocore's model: clients read the code from the
`x-amzn-ErrorType` header and the text from the body's `message` (docs/design.md, "The API on
the wire"). Statuses follow the model: NotFound 404, TooManyRequests 429, Conflict 409,
ConcurrentModification and InternalServiceError 500, everything else 400.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from sesconsole import validators

from .sigv4 import SigV4Error

STATUS_BY_CODE = {
    "NotFoundException": 404,
    "TooManyRequestsException": 429,
    "ConflictException": 409,
    "ConcurrentModificationException": 500,
    "InternalServiceErrorException": 500,
}


class ApiError(Exception):
    """An error answered in SES's shape: `code` is the botocore error shape name."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 400)


def bad_request(message: str) -> ApiError:
    return ApiError("BadRequestException", message)


def not_found(message: str) -> ApiError:
    return ApiError("NotFoundException", message)


def already_exists(message: str) -> ApiError:
    return ApiError("AlreadyExistsException", message)


def limit_exceeded(message: str) -> ApiError:
    return ApiError("LimitExceededException", message)


def from_validation_error(exc: ValidationError) -> ApiError:
    """Map the validators' exceptions (one rule, one place) to SES error codes."""
    message = " ".join(exc.messages)
    if isinstance(exc, validators.NotFoundError):
        return not_found(message)
    if isinstance(exc, validators.AlreadyExistsError):
        return already_exists(message)
    if isinstance(exc, validators.LimitExceededError):
        return limit_exceeded(message)
    return bad_request(message)


def from_sigv4_error(exc: SigV4Error) -> ApiError:
    return ApiError(exc.code, exc.message, exc.status)
