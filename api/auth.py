"""Authenticate an API request: SigV4 over the raw request, the key's account, the scope's region.

1. Build `sigv4.SignedRequest` from the Django request with the path exactly as on the wire
   (gunicorn's `RAW_URI`, uWSGI's `REQUEST_URI`); Django's own servers only give the decoded
   path, which is re-encoded the way botocore encodes path parameters.
2. Find the active access key named in the credential scope (unknown or inactive: 403
   UnrecognizedClientException, as AWS answers), with the scope's region, in one query
   (`api.reads.signer`).
3. Verify the signature and clock skew with `api.sigv4`, with SigV4's signing key for the
   scope's day and region. The key is derived from the secret once per process and day
   (`_signing_key`), not on every call: decrypting the secret (Fernet) and the HMAC chain
   were a tenth of GetEmailIdentity's server time.
4. The region comes from the credential scope and must be an enabled Region. AWS answers an
   unknown region with a 403 InvalidSignatureException ("Credential should be scoped to a
   valid region"); we do the same, naming the region in the message.

An operation that reads one identity named in the path (GetEmailIdentity) can have it read in
the same statement as the key, saving a round trip on the API's most frequent call. That is done
only once the signature holds (`_verified_with_identity`): the signature is first checked against
the encrypted secret this key had at its last verified request in this process, then one
statement reads the key (still active, still that secret) and the identity together. Anything
else (the key's first request here, another secret, a bad signature) takes the steps above, so
no request reads tenant data before it is authenticated, and every error comes from one path.

An operation that checks the caller's key in its own first round trip (SendEmail:
`sending.operations.KeyCheck`) need not have it read here at all (`key_checked_later`): a
request that verifies against the secret remembered for its key gets a Caller built from what
this process last read for that key (`_verified_unread`: its account is the one read for it,
never anything the request says), carrying the KeyCheck. The operation's statement confirms
the key is still active, still has that secret and account, and the region is still enabled;
if not, it raises `KeyNotConfirmed` before storing anything and `api.views` authenticates the
request again on the steps above, which answer it as they always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AccessKey, Account, Region
from sending.operations import KeyCheck
from sesconsole import encryption, sql

from . import reads, sigv4
from .errors import ApiError

# How many keys a process remembers (the secret as ciphertext; see the module's docstring).
# Past that it forgets them all and relearns the busy ones on their next request.
MAX_REMEMBERED_KEYS = 1024


@dataclass(frozen=True)
class Caller:
    account: Account
    region: Region
    access_key: AccessKey
    preloaded: reads.Preloaded | None = None
    # Set when the key was not read for this request (`key_checked_later`): the operation
    # must check it, and `key_confirmed` records its use once it has.
    key_check: KeyCheck | None = None


class KeyNotConfirmed(Exception):
    """The operation's check of a key not read for the request (`Caller.key_check`) failed:
    deactivated, deleted, given another secret or account, or its region disabled since this
    process read it. Nothing was stored; api.views authenticates the request again."""


@dataclass(frozen=True)
class _Verified:
    """A key as read for its last verified request in this process: the encrypted secret the
    signature was checked against and the key's fields (`reads.SIGNER_KEY_FIELDS`, as
    `sql.field_values` gives them; the account's id among them)."""

    secret_encrypted: str
    key_values: tuple[Any, ...]


# access key id -> what its last verified request in this process read of it.
_verified_keys: dict[str, _Verified] = {}


def authenticate(
    request: HttpRequest,
    body: bytes,
    identity_name: str | None = None,
    *,
    key_checked_later: bool = False,
) -> Caller:
    """The caller of a signed request, or SigV4Error / ApiError as AWS answers.

    With `identity_name` (as stored), the Caller may carry that identity, read in the same
    statement as the key (`preloaded`). With `key_checked_later`, the Caller may carry a
    `key_check` instead of a key read here (see the module's docstring).
    """
    signed = signed_request(request, body)
    credential = sigv4.parse_authorization(signed)
    now = timezone.now()
    if key_checked_later:
        caller = _verified_unread(signed, credential, now)
        if caller is not None:
            return caller
    if identity_name is not None:
        found = _verified_with_identity(signed, credential, identity_name, now)
        if found is not None:
            return _caller(found, credential)
    found = reads.signer(credential.access_key_id, credential.region)
    if found is None:
        raise sigv4.unknown_key_error()
    sigv4.verify(signed, credential, _signing_key(found.key.secret_encrypted, credential), now)
    return _caller(found, credential)


def key_confirmed(caller: Caller) -> None:
    """Record the use of a key the operation has checked (`Caller.key_check`), as `_caller`
    records it for a key read here."""
    caller.access_key.touch()
    _remember(caller.access_key)


def _verified_unread(
    signed: sigv4.SignedRequest, credential: sigv4.Credential, now: datetime
) -> Caller | None:
    """The caller of a request that verifies against the secret its key had at its last
    verified request here, built from what was read then, with the KeyCheck the operation
    must make; None when the usual path must decide."""
    known = _known_and_verified(signed, credential, now)
    if known is None:
        return None
    key = sql.rebuilt(AccessKey, reads.SIGNER_KEY_FIELDS, known.key_values)
    key.account = sql.rebuilt(Account, ["id"], [key.account_id])
    # Only the code: the KeyCheck's statement finds the region enabled, and any other field
    # loads on first access (none on the send path).
    region = sql.rebuilt(Region, ["code"], [credential.region])
    check = KeyCheck(key.access_key_id, secret_encrypted=known.secret_encrypted)
    return Caller(account=key.account, region=region, access_key=key, key_check=check)


def _known_and_verified(
    signed: sigv4.SignedRequest, credential: sigv4.Credential, now: datetime
) -> _Verified | None:
    """What this process remembers of the request's key, if the request verifies against the
    secret remembered with it; None when the usual path must decide."""
    known = _verified_keys.get(credential.access_key_id)
    if known is None:
        return None
    try:
        sigv4.verify(signed, credential, _signing_key(known.secret_encrypted, credential), now)
    except sigv4.SigV4Error:
        return None  # the usual path verifies against the stored secret and gives the error
    return known


def _verified_with_identity(
    signed: sigv4.SignedRequest, credential: sigv4.Credential, identity_name: str, now: datetime
) -> reads.Signer | None:
    """The signer with the identity, for a request that verifies against the secret its key had
    at its last verified request; None when the usual path must decide."""
    known = _known_and_verified(signed, credential, now)
    if known is None:
        return None
    found = reads.signer(credential.access_key_id, credential.region, identity_name)
    if found is None or found.key.secret_encrypted != known.secret_encrypted:
        # Deactivated, deleted or given a new secret since: decide on the stored key.
        _verified_keys.pop(credential.access_key_id, None)
        return None
    return found


def _caller(found: reads.Signer, credential: sigv4.Credential) -> Caller:
    key = found.key
    if found.region is None:
        raise ApiError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{credential.region}'. "
            "This server does not serve that region; sign for an enabled region such as "
            "us-east-1.",
            403,
        )
    key.touch()
    _remember(key)
    return Caller(
        account=key.account, region=found.region, access_key=key, preloaded=found.preloaded
    )


def _remember(key: AccessKey) -> None:
    """Remember `key` (read, or checked, for a request whose signature it verified)."""
    if len(_verified_keys) >= MAX_REMEMBERED_KEYS:
        _verified_keys.clear()
    values = sql.field_values(key, reads.SIGNER_KEY_FIELDS)
    _verified_keys[key.access_key_id] = _Verified(key.secret_encrypted, values)


# Keyed on the encrypted secret, so a new secret is a new entry. A key deactivated or deleted
# since is refused by the statement that reads it on every request, whatever is cached here.
# Entries hold derived keys, which sign for one day, region and service only, never the secret.
@lru_cache(maxsize=1024)
def _signing_key(secret_encrypted: str, credential: sigv4.Credential) -> bytes:
    return sigv4.derive_signing_key(encryption.decrypt(secret_encrypted), credential)


def signed_request(request: HttpRequest, body: bytes) -> sigv4.SignedRequest:
    return sigv4.SignedRequest(
        method=request.method or "GET",
        raw_path=raw_path(request),
        query_string=request.META.get("QUERY_STRING", ""),
        headers=received_headers(request.META),
        body=body,
    )


def received_headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, read from the WSGI environ the way Django's
    `request.headers` reads them (HTTP_* plus CONTENT_TYPE and CONTENT_LENGTH). Built directly:
    SigV4 looks headers up by lower-case name, and going through `request.headers` cost a tenth
    of the signature check."""
    headers = {}
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            headers[key.replace("_", "-").lower()] = value
    return headers


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
