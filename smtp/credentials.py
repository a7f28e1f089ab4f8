"""SES SMTP credentials: the password derived from an access key, and checking a login.

SES's SMTP username is the access key id; the password is derived from the key's secret and
the region with a documented HMAC chain (ses-sending.md §12.3, DG smtp-credentials). The same
secret gives a different password in each region, so a login names its region: the region
whose derived password matches is the region the session sends in. Passwords are never
stored; they are recomputed from the encrypted secret on every login.

Failed logins are counted in the sign-in limiter's store (accounts.models.LoginAttempt), per
client address and per access key id, so a guesser is stopped whichever of the two it varies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from accounts.models import AccessKey, Account, LoginAttempt, Region

# The derivation of SES SMTP passwords since 2019-01-10; the leading byte is its version.
# Pre-2019 passwords (version 0x02, region-independent) are refused like a wrong password
# (an UNVERIFIED choice: SES throttles them instead).
PASSWORD_VERSION = b"\x04"
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"

# SES has no SMTP endpoint in these regions [DG smtp-credentials]: no password works there.
REGIONS_WITHOUT_SMTP = frozenset(
    {"af-south-1", "ap-southeast-3", "eu-south-1", "il-central-1", "me-south-1"}
)

# Names under which SMTP logins are counted in LoginAttempt (the sign-in limiter's store, used
# through its public begin/clear). Each (name, address) pair is its own counter there: one
# counter per client address (the address in both parts) and one per key (a fixed address).
_ADDRESS_SUBJECT = "smtp client {address}"
_KEY_SUBJECT = "smtp key {access_key_id}"
_KEY_ADDRESS = "smtp"


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password of a secret access key in a region (44 characters, starts "B")."""
    signature = _sign(("AWS4" + secret_access_key).encode("utf-8"), _DATE)
    for part in (region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = _sign(signature, part)
    return base64.b64encode(PASSWORD_VERSION + signature).decode("ascii")


def smtp_regions() -> list[Region]:
    """The enabled regions that have an SMTP endpoint, in a stable order."""
    return list(Region.objects.filter(enabled=True).exclude(code__in=REGIONS_WITHOUT_SMTP))


@dataclass(frozen=True)
class SmtpLogin:
    """An authenticated SMTP session: whose key it is and the region its password names."""

    account: Account
    access_key_id: str
    region: Region


class LoginRefused(Exception):
    """AUTH failed. `temporary` says whether to answer 454 (try later) rather than 535."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.temporary = temporary


TOO_MANY_FAILURES = (
    "Too many failed SMTP logins from this address or for this key; wait up to 15 minutes."
)
BAD_CREDENTIALS = "Authentication Credentials Invalid"


def still_active(login: SmtpLogin) -> bool:
    """Whether the session's key is still active: a key deactivated or deleted after AUTH
    stops its open sessions too, at their next message."""
    return AccessKey.objects.active().filter(access_key_id=login.access_key_id).exists()


def authenticate(username: str, password: str, client_address: str) -> SmtpLogin:
    """Check an SMTP login; the session's account, key and region, or LoginRefused.

    1. Count the attempt for the client address and for the key name, refusing without looking
       at the password once either has failed too often (accounts.models.LoginAttempt.begin:
       the limiter's hard limit per pair and its back-off per name).
    2. Find the active key named by the username; derive its password in every region with an
       SMTP endpoint and compare each in constant time.
    3. A match clears both counts (an application server logs in for every batch it sends)
       and records the key's use; a miss leaves both attempts counted as failures.
    """
    # AUTH LOGIN carries any bytes; a key id is printable ASCII, and the store (PostgreSQL)
    # refuses NUL, so anything else is a wrong user name, counted under its printable part.
    printable = username.isprintable()
    key_name = username if printable else "".join(c for c in username if c.isprintable())
    counters = (
        (_ADDRESS_SUBJECT.format(address=client_address), client_address),
        (_KEY_SUBJECT.format(access_key_id=key_name), _KEY_ADDRESS),
    )
    for subject, where in counters:
        if LoginAttempt.begin(subject, where) is not None:
            raise LoginRefused(TOO_MANY_FAILURES, temporary=True)
    key = (
        AccessKey.objects.active().select_related("account").filter(access_key_id=username).first()
        if printable
        else None
    )
    if key is not None:
        secret = key.secret()
        for region in smtp_regions():
            if hmac.compare_digest(smtp_password(secret, region.code).encode(), password.encode()):
                for subject, where in counters:
                    LoginAttempt.clear(subject, where)
                key.touch()
                return SmtpLogin(key.account, key.access_key_id, region)
    raise LoginRefused(BAD_CREDENTIALS)
