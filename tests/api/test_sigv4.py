"""SigV4 verification against requests signed by botocore itself, as a server receives them.

No Django here: `api.sigv4` is pure, so these tests run with `-p no:django`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import boto3
import pytest
import time_machine
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from api.sigv4 import (
    Credential,
    SignedRequest,
    SigV4Error,
    derive_signing_key,
    parse_authorization,
    reencode_path,
    unknown_key_error,
    verify,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
ENDPOINT = "http://127.0.0.1:8000"
SIGNED_AT = datetime(2026, 11, 26, 12, 2, 39, tzinfo=UTC)
IDENTITY_PATH = "/v2/email/identities/user%2Btag%40example.com"
TAGS_QUERY = (
    "ResourceArn=arn%3Aaws%3Ases%3Aeu-west-1%3A123456789012%3Aidentity%2Fexample.com"
    "&TagKeys=a&TagKeys=b%20c"
)
LIST_QUERY = "PageSize=10&NextToken=abc%2Fdef%2B%3D%3D"
JSON = {"Content-Type": "application/json"}
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


def sign(
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    service: str = "ses",
) -> SignedRequest:
    """Sign like a botocore client at SIGNED_AT and return what the server receives."""
    url = ENDPOINT + path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    with time_machine.travel(SIGNED_AT, tick=False):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, REGION).add_auth(request)
    return received(request.prepare())


def received(prepared: AWSPreparedRequest) -> SignedRequest:
    url = urlsplit(prepared.url)
    # botocore signs a host taken from the URL but leaves sending the Host header to urllib3.
    headers = {"Host": url.netloc, **prepared.headers}
    body = prepared.body or b""
    return SignedRequest(prepared.method, url.path, url.query, headers, body)


def with_headers(request: SignedRequest, **changes: str) -> SignedRequest:
    """Replace headers by name (underscores for dashes); an empty value removes the header."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    for name, value in changes.items():
        headers.pop(name.replace("_", "-"), None)
        if value:
            headers[name.replace("_", "-")] = value
    return replace(request, headers=headers)


def authorization(request: SignedRequest) -> str:
    return {name.lower(): value for name, value in request.headers.items()}["authorization"]


def check(request: SignedRequest, *, secret: str = SECRET_KEY, now: datetime = SIGNED_AT) -> None:
    credential = parse_authorization(request)
    verify(request, credential, derive_signing_key(secret, credential), now)


def refusal(
    request: SignedRequest, *, secret: str = SECRET_KEY, now: datetime = SIGNED_AT
) -> SigV4Error:
    with pytest.raises(SigV4Error) as excinfo:
        check(request, secret=secret, now=now)
    return excinfo.value


def test_parse_authorization_returns_access_key_and_scope() -> None:
    request = sign("GET", IDENTITY_PATH)

    assert parse_authorization(request) == Credential(ACCESS_KEY, "20261126", REGION, "ses")


def test_derive_signing_key_matches_the_aws_documentation_example() -> None:
    # "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
    credential = Credential("AKIDEXAMPLE", "20120215", "us-east-1", "iam")

    key = derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", credential)

    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        pytest.param("GET", IDENTITY_PATH, "", b"", id="encoded-plus-and-at"),
        pytest.param("DELETE", "/v2/email/identities/a%20b%40example.com", "", b"", id="space"),
        pytest.param(
            "GET",
            "/v2/email/identities",
            "PageSize=10&NextToken=abc%2Fdef%2B%3D%3D",
            b"",
            id="token",
        ),
        pytest.param("DELETE", "/v2/email/tags", TAGS_QUERY, b"", id="repeated-keys"),
        pytest.param(
            "POST",
            "/v2/email/identities",
            "",
            b'{"EmailIdentity": "user+tag@example.com"}',
            id="body",
        ),
        pytest.param("PUT", IDENTITY_PATH + "/mail-from", "", b"{}", id="path-and-body"),
    ],
)
def test_verify_accepts_botocore_signed_request(
    method: str, path: str, query: str, body: bytes
) -> None:
    request = sign(method, path, query=query, body=body, headers=JSON if body else None)

    check(request)


def test_verify_accepts_signed_security_token() -> None:
    request = sign("GET", IDENTITY_PATH, token="FQoGZXIvYXdzEXAMPLE")

    check(request)
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in authorization(request)


def test_verify_accepts_date_header_instead_of_x_amz_date() -> None:
    # botocore signs with Date (RFC 1123) and drops X-Amz-Date when the caller sets Date.
    request = sign("GET", IDENTITY_PATH, headers={"Date": "set by botocore"})

    check(request)
    assert request.headers["Date"] == "Thu, 26 Nov 2026 12:02:39 -0000"


def test_verify_accepts_header_names_in_any_case() -> None:
    request = sign("POST", "/v2/email/identities", body=b"{}", headers=JSON)
    shouted = replace(request, headers={k.upper(): v for k, v in request.headers.items()})

    check(shouted)


def test_verify_accepts_plus_for_space_in_query() -> None:
    # botocore signs params as `a%20b` but AWSRequest.prepare() sends them as `a+b`.
    request = AWSRequest(method="GET", url=ENDPOINT + "/v2/email/identities", params={"T": "a b"})
    with time_machine.travel(SIGNED_AT, tick=False):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ses", REGION).add_auth(request)
    wire = received(request.prepare())

    check(wire)
    assert wire.query_string == "T=a+b"


def test_verify_accepts_signed_user_agent_from_other_clients() -> None:
    # botocore never signs user-agent, but the spec allows it (curl --aws-sigv4 may sign it):
    # signed here by an independent reading of the SigV4 spec.
    headers = {
        "host": "127.0.0.1:8000",
        "user-agent": "curl/8.5.0",
        "x-amz-date": "20261126T120239Z",
    }
    request = SignedRequest("GET", IDENTITY_PATH, "TagKeys=b&TagKeys=a", headers, b"")
    signature = sign_by_spec(request, ["host", "user-agent", "x-amz-date"])
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20261126/{REGION}/ses/aws4_request, "
        f"SignedHeaders=host;user-agent;x-amz-date, Signature={signature}"
    )

    check(request)


def sign_by_spec(request: SignedRequest, signed: list[str]) -> str:
    """SigV4 straight from AWS's documentation, for query values already RFC 3986-encoded."""
    canonical_request = "\n".join(
        [
            request.method,
            quote(request.raw_path, safe="/-_.~"),  # the encoded path is encoded once more
            "&".join(sorted(request.query_string.split("&"))),
            "".join(f"{name}:{request.headers[name]}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    timestamp = request.headers["x-amz-date"]
    scope = f"{timestamp[:8]}/{REGION}/ses/aws4_request"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{digest}"
    key = f"AWS4{SECRET_KEY}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_verify_refuses_unsigned_payload_so_a_swapped_body_never_passes() -> None:
    """Outside S3, AWS hashes the body it received: a signature over "UNSIGNED-PAYLOAD"
    covers no body, so it matches none (issue 14: a tag was changed under such a signature)."""
    headers = {**JSON, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    request = sign("POST", "/v2/email/identities", body=b"{}", headers=headers)

    swapped = refusal(replace(request, body=b'{"EmailIdentity": "other.example"}'))
    original = refusal(request)

    assert (swapped.code, swapped.status, swapped.message) == (
        "SignatureDoesNotMatch",
        403,
        MISMATCH,
    )
    assert (original.code, original.status) == ("SignatureDoesNotMatch", 403)


def test_verify_refuses_a_body_swapped_under_a_matching_content_sha256() -> None:
    """The attacker rewrites both the body and the (signed) hash header: the signature no
    longer matches, because it was computed over the original body's hash."""
    body = b'{"Tags": [{"Key": "team", "Value": "a"}]}'
    headers = {**JSON, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    request = sign("POST", "/v2/email/tags", body=body, headers=headers)
    swapped_body = b'{"Tags": [{"Key": "team", "Value": "evil"}]}'
    swapped = with_headers(
        replace(request, body=swapped_body),
        x_amz_content_sha256=hashlib.sha256(swapped_body).hexdigest(),
    )

    error = refusal(swapped)

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_accepts_signed_content_sha256_matching_body() -> None:
    body = b'{"EmailIdentity": "example.com"}'
    headers = {**JSON, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}

    check(sign("POST", "/v2/email/identities", body=body, headers=headers))


def test_verify_refuses_signed_content_sha256_not_matching_body() -> None:
    headers = {**JSON, "X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()}
    request = sign("POST", "/v2/email/identities", body=b'{"EmailIdentity": "x"}', headers=headers)

    error = refusal(request)

    assert (error.code, error.status) == ("XAmzContentSHA256Mismatch", 400)


def test_verify_ignores_unsigned_content_sha256_header() -> None:
    request = sign("POST", "/v2/email/identities", body=b"{}", headers=JSON)

    check(with_headers(request, x_amz_content_sha256="UNSIGNED-PAYLOAD"))


def test_verify_refuses_changed_body() -> None:
    request = sign("POST", "/v2/email/identities", body=b'{"EmailIdentity": "a.com"}', headers=JSON)

    error = refusal(replace(request, body=b'{"EmailIdentity": "b.com"}'))

    assert (error.code, error.status, error.message) == ("SignatureDoesNotMatch", 403, MISMATCH)


def test_verify_refuses_changed_path() -> None:
    request = sign("DELETE", IDENTITY_PATH)

    error = refusal(replace(request, raw_path="/v2/email/identities/other%40example.com"))

    assert (error.code, error.status, error.message) == ("SignatureDoesNotMatch", 403, MISMATCH)


def test_verify_refuses_decoded_path() -> None:
    # The signature covers the encoded path: a server must not hand in Django's decoded path_info.
    request = sign("GET", IDENTITY_PATH)

    error = refusal(replace(request, raw_path="/v2/email/identities/user+tag@example.com"))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_refuses_changed_query() -> None:
    request = sign("DELETE", "/v2/email/tags", query=TAGS_QUERY)

    error = refusal(replace(request, query_string=TAGS_QUERY + "&TagKeys=d"))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_refuses_changed_header_value() -> None:
    request = sign("GET", IDENTITY_PATH)

    error = refusal(with_headers(request, host="email.eu-west-1.amazonaws.com"))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_refuses_missing_signed_header() -> None:
    request = sign("POST", "/v2/email/identities", body=b"{}", headers=JSON)

    error = refusal(with_headers(request, content_type=""))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_refuses_wrong_secret() -> None:
    error = refusal(sign("GET", IDENTITY_PATH), secret="not-the-secret")

    assert (error.code, error.status, error.message) == ("SignatureDoesNotMatch", 403, MISMATCH)


@pytest.mark.parametrize("skew", [timedelta(minutes=-14), timedelta(minutes=14)])
def test_verify_accepts_clock_skew_within_15_minutes(skew: timedelta) -> None:
    check(sign("GET", IDENTITY_PATH), now=SIGNED_AT + skew)


def test_verify_refuses_signature_older_than_15_minutes() -> None:
    error = refusal(sign("GET", IDENTITY_PATH), now=SIGNED_AT + timedelta(minutes=16))

    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Signature expired: 20261126T120239Z is now earlier than 20261126T120339Z "
        "(20261126T121839Z - 15 min.)",
    )


def test_verify_refuses_signature_more_than_15_minutes_ahead() -> None:
    error = refusal(sign("GET", IDENTITY_PATH), now=SIGNED_AT - timedelta(minutes=16))

    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Signature not yet current: 20261126T120239Z is still later than 20261126T120139Z "
        "(20261126T114639Z + 15 min.)",
    )


def test_verify_refuses_scope_date_other_than_x_amz_date() -> None:
    request = sign("GET", IDENTITY_PATH)
    header = authorization(request).replace("/20261126/", "/20261125/")

    error = refusal(with_headers(request, authorization=header))

    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20261125' != '20261126', from '20261126T120239Z'.",
    )


def test_verify_refuses_missing_date_headers() -> None:
    request = with_headers(sign("GET", IDENTITY_PATH), x_amz_date="")

    error = refusal(request)

    assert (error.code, error.status, error.message) == (
        "IncompleteSignatureException",
        400,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={authorization(request)}",
    )


@pytest.mark.parametrize(
    "x_amz_date",
    [
        "2026-11-26T12:02:39Z",  # extended, not basic, format
        "20261126T120239",  # no Z
        "2026112T120239Z",  # a digit short
        "20261126T12239Z",
        "20261326T120239Z",  # month 13
        "20260230T120239Z",  # 30 February
        "20261126T250239Z",  # hour 25
        "２0261126T120239Z",  # a non-ASCII digit
    ],
)
def test_verify_refuses_x_amz_date_not_in_basic_format(x_amz_date: str) -> None:
    request = with_headers(sign("GET", IDENTITY_PATH), x_amz_date=x_amz_date)

    error = refusal(request)

    assert (error.code, error.status) == ("IncompleteSignatureException", 400)


def test_parse_authorization_refuses_missing_header() -> None:
    request = with_headers(sign("GET", IDENTITY_PATH), authorization="")

    with pytest.raises(SigV4Error) as excinfo:
        parse_authorization(request)

    error = excinfo.value
    assert (error.code, error.status, error.message) == (
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )


SCOPE = f"Credential={ACCESS_KEY}/20261126/{REGION}/ses/aws4_request"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param(
            f"AWS4-HMAC-SHA1 {SCOPE}, SignedHeaders=host, Signature=ab",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'. Use 'AWS4-HMAC-SHA256'.",
            id="algorithm",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date",
            "Authorization header requires 'Signature' parameter. "
            f"Authorization=AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date",
            id="no-signature",
        ),
        pytest.param(
            "AWS4-HMAC-SHA256 Signature=ab",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=AWS4-HMAC-SHA256 Signature=ab",
            id="no-credential-no-signed-headers",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20261126/{REGION}/ses, "
            "SignedHeaders=host, Signature=ab",
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{ACCESS_KEY}/20261126/{REGION}/ses'",
            id="scope-shape",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders, Signature=ab",
            "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with "
            "SHA-256 and encoded with Base64): '"
            + base64.b64encode(
                hashlib.sha256(
                    f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders, Signature=ab".encode()
                ).digest()
            ).decode()
            + "'.",
            id="missing-equal-sign",
        ),
    ],
)
def test_parse_authorization_refuses_malformed_header(header: str, message: str) -> None:
    request = with_headers(sign("GET", IDENTITY_PATH), authorization=header)

    with pytest.raises(SigV4Error) as excinfo:
        parse_authorization(request)

    error = excinfo.value
    assert (error.code, error.status, error.message) == (
        "IncompleteSignatureException",
        400,
        message,
    )


def test_parse_authorization_refuses_wrong_service() -> None:
    request = sign("GET", IDENTITY_PATH, service="sesv2")

    with pytest.raises(SigV4Error) as excinfo:
        parse_authorization(request)

    error = excinfo.value
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Credential should be scoped to correct service: 'ses'. ",
    )


def test_parse_authorization_refuses_wrong_terminator() -> None:
    request = sign("GET", IDENTITY_PATH)
    header = authorization(request).replace("/aws4_request,", "/aws5_request,")

    with pytest.raises(SigV4Error) as excinfo:
        parse_authorization(with_headers(request, authorization=header))

    error = excinfo.value
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    )


def test_parse_authorization_refuses_host_not_signed() -> None:
    request = sign("GET", IDENTITY_PATH)
    header = authorization(request).replace("SignedHeaders=host;", "SignedHeaders=")

    with pytest.raises(SigV4Error) as excinfo:
        parse_authorization(with_headers(request, authorization=header))

    error = excinfo.value
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_unknown_key_error_says_token_invalid() -> None:
    error = unknown_key_error()

    assert (error.code, error.status, error.message) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


def test_reencode_path_matches_botocore_path_encoding() -> None:
    decoded = "/v2/email/identities/user+tag@example.com"

    assert reencode_path(decoded) == IDENTITY_PATH
    assert reencode_path("/v2/email/identities/a b@example.com") == (
        "/v2/email/identities/a%20b%40example.com"
    )


class RecordingServer(http.server.HTTPServer):
    """Records each request exactly as it arrived and answers `{}`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self.received: list[SignedRequest] = []


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    server: RecordingServer

    def record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        raw_path, _, query = self.path.partition("?")
        headers = dict(self.headers.items())
        self.server.received.append(SignedRequest(self.command, raw_path, query, headers, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = record

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_verify_accepts_real_boto3_requests(recording_server: RecordingServer) -> None:
    host, port = recording_server.server_address[:2]
    client = boto3.client(
        "sesv2",
        region_name=REGION,
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    arn = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"

    client.get_email_identity(EmailIdentity="user+tag@example.com")
    client.untag_resource(ResourceArn=arn, TagKeys=["env", "team name"])

    get, untag = recording_server.received
    assert (get.method, get.raw_path, get.query_string) == ("GET", IDENTITY_PATH, "")
    assert (untag.method, untag.raw_path, untag.query_string) == (
        "DELETE",
        "/v2/email/tags",
        "ResourceArn=arn%3Aaws%3Ases%3Aeu-west-1%3A123456789012%3Aidentity%2Fexample.com"
        "&TagKeys=env&TagKeys=team%20name",
    )
    now = datetime.now(UTC)
    for request in (get, untag):
        assert parse_authorization(request).region == REGION
        check(request, now=now)
