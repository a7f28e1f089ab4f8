"""Authenticate an API request: SigV4 over the raw request, the key's account, the scope's region.

1. Build `sigv4.SignedRequest` from the Django request with the path exactly as on the wire
   (gunicorn's `RAW_URI`, uWSGI's `REQUEST_URI`); Django's own servers only give the decoded
   path, which is re-encoded the way botocore encodes path parameters.
2. Find the active access key named in the credential scope (unknown or inactive: 403
   UnrecognizedClientException, as AWS answers), with the scope's region, in one query
   (`api.reads.signer`).
3. Verify the signature and clock skew with `api.sigv4`.
4. The region comes from the credential scope and must be an enabled Region. AWS answers an
   unknown region with a 403 InvalidSignatureException ("Credential should be scoped to a
   valid region"); we do the same, naming the region in the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AccessKey, Account, Region

from . import reads, sigv4
from .errors import ApiError


@dataclass(frozen=True)
class Caller:
    account: Account
    region: Region
    access_key: AccessKey


def authenticate(request: HttpRequest, body: bytes) -> Caller:
    signed = signed_request(request, body)
    credential = sigv4.parse_authorization(signed)
    found = reads.signer(credential.access_key_id, credential.region)
    if found is None:
        raise sigv4.unknown_key_error()
    key = found.key
    sigv4.verify(signed, credential, key.secret(), timezone.now())
    if found.region is None:
        raise ApiError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{credential.region}'. "
            "This server does not serve that region; sign for an enabled region such as "
            "us-east-1.",
            403,
        )
    key.touch()
    return Caller(account=key.account, region=found.region, access_key=key)


def signed_request(request: HttpRequest, body: bytes) -> sigv4.SignedRequest:
    return sigv4.SignedRequest(
        method=request.method or "GET",
        raw_path=raw_path(request),
        query_string=request.META.get("QUERY_STRING", ""),
        headers=request.headers,
        body=body,
    )


def raw_path(request: HttpRequest) -> str:
    """The request path still percent-encoded as the client sent it, without the query."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        if "://" in raw.split("?", 1)[0]:
            # An absolute-form request target (`GET http://host/path HTTP/1.1`).
            return urlsplit(raw).path or "/"
        return raw.split("?", 1)[0]
    # Django's runserver/live_server: only the decoded path is available.
    return sigv4.reencode_path(request.path)
