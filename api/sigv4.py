"""Server-side verification of AWS Signature Version 4, as SES answers it.

The view layer hands in the request exactly as it came off the wire; nothing here imports Django.
Usage::

    credential = parse_authorization(request)       # SigV4Error if the header is absent/malformed
    key = lookup(credential.access_key_id)          # the view; unknown or inactive key ->
                                                    #   raise unknown_key_error()
    signing_key = derive_signing_key(key.secret, credential)  # the view may cache it per day
    verify(request, credential, signing_key, now)   # SigV4Error unless the signature holds

The canonical request and the string to sign come from botocore's own ``SigV4Auth`` (the code
that signs every boto3/aws-cli request we serve), fed with the received request rather than
re-implemented here. Only three things are done by hand, each because botocore is a *client*:

- the client's ``SignedHeaders`` list decides which headers are signed (botocore would pick them
  itself, leaving out ``user-agent`` and others that non-botocore clients may sign);
- the query string is normalised to RFC 3986 encoding first (botocore signs a URL's query as-is,
  trusting that it encoded it itself);
- the clock-skew and scope checks, which only a server makes;
- the payload hash, always computed from the body received (as AWS does outside S3): a client's
  `x-amz-content-sha256` header, `UNSIGNED-PAYLOAD` included, never stands in for it, so a
  signature always covers the body.

The signing key is SigV4's own: derived from the secret for one day, region and service
(`derive_signing_key`, the HMAC chain botocore's `SigV4Auth.signature` runs), so that a server
can keep it for the day instead of reading the secret on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import SIGV4_TIMESTAMP, UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
# botocore signs both SES v1 and v2 with the signing name "ses", not "sesv2".
SERVICE = "ses"
TERMINATOR = "aws4_request"
MAX_CLOCK_SKEW = timedelta(minutes=15)

# Characters SigV4 leaves unencoded (RFC 3986 "unreserved").
_UNRESERVED = "-_.~"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_BASIC_ISO = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.ASCII)
_AUTH_PARAMETERS = ("Credential", "SignedHeaders", "Signature")


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as the server received it.

    `raw_path` is the request path still percent-encoded, exactly as on the wire, without the
    query string (gunicorn's `RAW_URI`, uWSGI's `REQUEST_URI`); `headers` may be any mapping,
    looked up case-insensitively.
    """

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    @cached_property
    def lower_headers(self) -> dict[str, str]:
        """The headers by lower-case name."""
        return {name.lower(): value for name, value in self.headers.items()}

    @cached_property
    def authorization(self) -> _Authorization:
        """The parsed Authorization header (read by both `parse_authorization` and `verify`);
        SigV4Error if it is absent or malformed."""
        return _parse_authorization(self.lower_headers)


@dataclass(frozen=True)
class Credential:
    """The Authorization header's credential: `AKID/yyyymmdd/region/service/aws4_request`."""

    access_key_id: str
    date: str
    region: str
    service: str


class SigV4Error(Exception):
    """A request the API must refuse; `code`, `message` and `status` are what AWS would answer."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ClockSkewError(SigV4Error):
    """A signature made more than 15 minutes from now: the v2 API answers it like any invalid
    signature, the v1 Query API as RequestExpired."""


@dataclass(frozen=True)
class _Authorization:
    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str


def unknown_key_error() -> SigV4Error:
    """The answer for an access key that does not exist or is inactive (what AWS says)."""
    return SigV4Error(
        "UnrecognizedClientException", "The security token included in the request is invalid.", 403
    )


def parse_authorization(request: SignedRequest) -> Credential:
    """Read the credential scope from the Authorization header, before any key lookup."""
    return request.authorization.credential


def derive_signing_key(secret_key: str, credential: Credential) -> bytes:
    """SigV4's signing key for the credential scope's day, region and service."""
    key = ("AWS4" + secret_key).encode()
    for part in (credential.date, credential.region, credential.service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify(
    request: SignedRequest, credential: Credential, signing_key: bytes, now: datetime
) -> None:
    """Raise `SigV4Error` unless `request` bears a valid, current signature made with the secret
    `signing_key` was derived from (`derive_signing_key(secret, credential)`).

    1. Take the signing time from `X-Amz-Date` (or `Date`) and refuse it outside ±15 minutes.
    2. Check that the credential scope is dated on the signing day.
    3. Check a signed `x-amz-content-sha256` against the body (a clear 400 for a wrong one).
    4. Recompute the signature with botocore over the signed headers only, with the payload
       hash of the body received (never the header's claim), and compare in constant time.
    """
    headers = request.lower_headers
    authorization = request.authorization
    timestamp = _signing_timestamp(headers)
    _check_clock_skew(timestamp, now)
    _check_scope_date(credential, timestamp)
    signed = {name: headers.get(name, "") for name in authorization.signed_headers}
    _check_payload_hash(signed, request.body)
    expected = _compute_signature(request, credential, signing_key, timestamp, signed)
    if not hmac.compare_digest(
        expected.encode(), authorization.signature.encode("utf-8", "surrogateescape")
    ):
        raise SigV4Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
            403,
        )


def reencode_path(path_info: str) -> str:
    """Percent-encode a decoded path the way botocore encodes SES path parameters.

    For servers that only have the decoded path (Django's `path_info` under runserver). An
    identity containing `/` (sent as `%2F`) cannot be recovered this way; prefer the raw URI.
    """
    return quote(path_info, safe="/" + _UNRESERVED)


def _parse_authorization(headers: Mapping[str, str]) -> _Authorization:
    header = headers.get("authorization", "")
    if not header.strip():
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'. Use '{ALGORITHM}'.")
    parameters = _auth_parameters(header, rest)
    missing = [name for name in _AUTH_PARAMETERS if not parameters.get(name)]
    if missing:
        requires = " ".join(
            f"Authorization header requires '{name}' parameter." for name in missing
        )
        raise _incomplete(f"{requires} Authorization={header}")
    signed_headers = tuple(parameters["SignedHeaders"].split(";"))
    if "host" not in signed_headers:
        raise SigV4Error(
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            403,
        )
    return _Authorization(
        credential=_parse_credential(parameters["Credential"]),
        signed_headers=signed_headers,
        signature=parameters["Signature"],
    )


def _auth_parameters(header: str, rest: str) -> dict[str, str]:
    """Split `Credential=..., SignedHeaders=..., Signature=...` (spaces after commas optional)."""
    parameters: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in rest.split(","))):
        name, equals, value = pair.partition("=")
        if not equals:
            # AWS quotes a hash of the header rather than echoing a possibly garbled value.
            digest = base64.b64encode(hashlib.sha256(header.encode()).digest()).decode()
            raise _incomplete(
                "Invalid key=value pair (missing equal-sign) in Authorization header "
                f"(hashed with SHA-256 and encoded with Base64): '{digest}'."
            )
        parameters[name.strip()] = value.strip()
    return parameters


def _parse_credential(value: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts):
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{value}'"
        )
    access_key_id, date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise _invalid_signature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'."
        )
    if service != SERVICE:
        raise _invalid_signature(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    return Credential(access_key_id=access_key_id, date=date, region=region, service=service)


def _signing_timestamp(headers: Mapping[str, str]) -> str:
    """Return the signing time in SigV4's basic ISO-8601 form, from X-Amz-Date or else Date."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        if _parse_timestamp(amz_date) is None:
            raise _incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            )
        return amz_date
    http_date = headers.get("date")
    if http_date is None:
        raise _incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            f"header. Authorization={headers['authorization']}"
        )
    try:
        parsed_http = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        raise _incomplete(f"Date header must be an RFC 1123 date. Got '{http_date}'.") from None
    # botocore signs a Date-header request with the same instant in basic ISO-8601 form.
    return _utc(parsed_http).strftime(SIGV4_TIMESTAMP)


def _parse_timestamp(text: str) -> datetime | None:
    """`20261126T153000Z` as a UTC datetime; None unless it is exactly that shape and a real
    moment. (A regex, not strptime: strptime is slow and tolerates single-digit fields.)"""
    match = _BASIC_ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # 20261331T..., 20260230T...
        return None


def _check_clock_skew(timestamp: str, now: datetime) -> None:
    signed_at = _parse_timestamp(timestamp)
    if signed_at is None:  # _signing_timestamp returns valid timestamps only
        raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'.")
    now = _utc(now)
    if signed_at < now - MAX_CLOCK_SKEW:
        raise ClockSkewError(
            "InvalidSignatureException",
            f"Signature expired: {timestamp} is now earlier than "
            f"{_format(now - MAX_CLOCK_SKEW)} ({_format(now)} - 15 min.)",
            403,
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        raise ClockSkewError(
            "InvalidSignatureException",
            f"Signature not yet current: {timestamp} is still later than "
            f"{_format(now + MAX_CLOCK_SKEW)} ({_format(now)} + 15 min.)",
            403,
        )


def _check_scope_date(credential: Credential, timestamp: str) -> None:
    if credential.date != timestamp[:8]:
        raise _invalid_signature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{credential.date}' != '{timestamp[:8]}', from '{timestamp}'."
        )


def _check_payload_hash(signed: Mapping[str, str], body: bytes) -> None:
    """A signed payload hash is signed data, so the body it vouches for must match it.

    botocore uses the header verbatim in the canonical request; without this check a client's
    signature would cover any body sent alongside a correct-looking hash.
    """
    claimed = signed.get("x-amz-content-sha256")
    if claimed is None or claimed == UNSIGNED_PAYLOAD:
        # Not a claim about the body: the signature check hashes the body itself, so a request
        # signed over "UNSIGNED-PAYLOAD" fails there.
        return
    if not _SHA256_HEX.fullmatch(claimed):
        raise SigV4Error(
            "InvalidArgument",
            f"x-amz-content-sha256 must be {UNSIGNED_PAYLOAD} or a valid sha256 value.",
            400,
        )
    if not hmac.compare_digest(claimed.lower(), hashlib.sha256(body).hexdigest()):
        raise SigV4Error(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
        )


class _ReceivedRequest(AWSRequest):
    """The received request for botocore's signer, with the body exactly as received."""

    @property
    def body(self) -> bytes:
        # botocore's AWSRequest prepares the whole request (URL, headers, body) to read its body,
        # which for bytes is the data itself: a third of the signature check, for nothing.
        data: bytes = self.data
        return data


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's SigV4 signer, told which headers the client signed, given the derived
    signing key instead of the secret, and hashing the payload from the body received."""

    def __init__(
        self, credential: Credential, signing_key: bytes, signed: Mapping[str, str]
    ) -> None:
        # The secret is never read: `signature` below starts from the derived key.
        super().__init__(
            Credentials(credential.access_key_id, ""), credential.service, credential.region
        )
        self.signing_key = signing_key
        self.signed = signed

    def payload(self, request: AWSRequest) -> str:
        # botocore, a client, may send UNSIGNED-PAYLOAD (S3); the server always hashes.
        return hashlib.sha256(request.body).hexdigest()

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        # botocore's last step, after its own derivation of the key from the secret.
        return hmac.new(self.signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        # botocore's version drops headers it never signs (user-agent, expect, ...) and adds
        # host from the URL; on the server the client's SignedHeaders list is the only truth.
        # They are kept here, not on the request: botocore's canonical_request takes a
        # request's X-Amz-Content-SHA256 header as the payload hash instead of calling payload().
        header_map = HTTPHeaders()
        for name, value in self.signed.items():
            header_map[name.lower()] = value
        return header_map


def _compute_signature(
    request: SignedRequest,
    credential: Credential,
    signing_key: bytes,
    timestamp: str,
    signed: Mapping[str, str],
) -> str:
    # The host is carried by the signed `host` header, so the URL's netloc is never read. A raw
    # `#` (never sent by a real client) is escaped so it cannot cut the signed path short.
    path = request.raw_path.replace("#", "%23")
    url = "https://sigv4.invalid" + (path if path.startswith("/") else "/" + path)
    query = _canonical_query(request.query_string)
    if query:
        url += "?" + query
    aws_request = _ReceivedRequest(method=request.method, url=url, data=request.body)
    aws_request.context["timestamp"] = timestamp
    signer = _ReceivedRequestSigner(credential, signing_key, signed)
    canonical_request = signer.canonical_request(aws_request)
    signature: str = signer.signature(
        signer.string_to_sign(aws_request, canonical_request), aws_request
    )
    return signature


def _canonical_query(query_string: str) -> str:
    """Re-encode every key and value with RFC 3986 encoding; botocore then sorts the pairs.

    botocore clients already send this form (`TagKeys=b%20c`, `NextToken=abc%2Fdef%2B%3D%3D`), so
    for them this changes nothing. `+` is read as a space, as Django's `request.GET` reads it, so
    the signature covers the values the view will see.
    """
    pairs = []
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        pairs.append(f"{_rfc3986(key)}={_rfc3986(value)}")
    return "&".join(pairs)


def _rfc3986(component: str) -> str:
    # Byte-level round trip, so percent-escapes that are not UTF-8 survive unchanged.
    return quote(unquote_to_bytes(component.replace("+", " ")), safe=_UNRESERVED)


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken to be UTC, like botocore's own clock.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _format(moment: datetime) -> str:
    return moment.strftime(SIGV4_TIMESTAMP)


def _incomplete(message: str) -> SigV4Error:
    return SigV4Error("IncompleteSignatureException", message, 400)


def _invalid_signature(message: str) -> SigV4Error:
    return SigV4Error("InvalidSignatureException", message, 403)
