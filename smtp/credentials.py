"""SES SMTP credentials: the password derived from an access key, and checking a login.

SES's SMTP username is the access key id; the password is derived from the key's secret and
the region with a documented HMAC chain (ses-sending.md §12.3, DG smtp-credentials). The same
secret gives a different password in each region, so a login names its region: the region
whose derived password matches is the region the session sends in. Passwords are never
stored; they are recomputed from the encrypted secret on every login.

Failed logins are limited in the sign-in limiter's store (accounts.models.LoginAttempt rows:
a name, a client address, a time). A key id is not secret (it is the SMTP username and shows
in mail logs), so a limit that locked a key for everyone would let anyone who knows it stop
its application's mail. The limits are therefore shaped so that failures only cost the
addresses that fail, while guessing stays bounded however many addresses a guesser has:

- Per client address: ADDRESS_FAILURE_LIMIT failures within ADDRESS_WINDOW, whatever key
  they name, and that address is refused until the oldest ages out. One address can guess
  at most 40 passwords an hour, and a success with the guesser's own key does not reset the
  count (it clears only that key's failures from that address).
- Per key, from every address: past KEY_FREE_FAILURES failures within KEY_WINDOW (more than
  two addresses at their limit can make: a distributed guess), each further attempt waits
  an exponential delay (capped at KEY_MAX_DELAY) after the key's latest failure. The delay
  never applies to an address that logged in with the key within TRUSTED_FOR: the
  legitimate application keeps sending while the key is under attack.
- Attempts on one key take turns (its row is locked while the attempt is counted), so
  parallel connections see each other's failures.

Every login does the same work whether its key exists or not (a dummy secret is decrypted
and derived for unknown ids) and compares passwords as bytes in constant time, so the answer
time does not tell a guesser which key ids exist or which region matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AccessKey, Account, LoginAttempt, Region
from sending.read_ahead import ReadAhead
from sesconsole import encryption

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

ADDRESS_FAILURE_LIMIT = 10
ADDRESS_WINDOW = timedelta(minutes=15)
KEY_FREE_FAILURES = 100
KEY_WINDOW = timedelta(hours=1)
KEY_MAX_DELAY = timedelta(minutes=5)
TRUSTED_FOR = timedelta(days=1)

# The names under which SMTP logins are kept in LoginAttempt (its username column), each
# row with the client's address: one row per attempt under the address name and under the
# key's name, and one row per (key, address) that logged in, dated by its latest success.
_ADDRESS_NAME = "smtp client"
_KEY_NAME = "smtp key {access_key_id}"
_TRUSTED_NAME = "smtp key {access_key_id} ok"


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
    """An authenticated SMTP session: whose key it is, the region its password names, and
    what its messages' sends read, kept for SMTP_SESSION_READ_AHEAD_SECONDS."""

    account: Account
    access_key_id: str
    region: Region
    read_ahead: ReadAhead = field(compare=False)


def logged_in(account: Account, access_key_id: str, region: Region) -> SmtpLogin:
    """A new session's login, with nothing read ahead yet."""
    window = timedelta(seconds=settings.SMTP_SESSION_READ_AHEAD_SECONDS)
    return SmtpLogin(account, access_key_id, region, ReadAhead(account.pk, region.pk, window))


class LoginRefused(Exception):
    """AUTH failed. `temporary` says whether to answer 454 (try later) rather than 535."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.temporary = temporary


ADDRESS_LIMITED = "Too many failed SMTP logins from this address; try again in {wait}."
KEY_LIMITED = (
    "Too many failed SMTP logins for this access key; try again in {wait}, or log in from an "
    "address that has logged in with it before."
)
BAD_CREDENTIALS = "Authentication Credentials Invalid"


@lru_cache(maxsize=1)
def _dummy_secret_encrypted() -> str:
    # A secret nobody knows, encrypted like a real one: an unknown key id decrypts and
    # derives it, doing what a known one does.
    return encryption.encrypt(secrets.token_urlsafe(30)[:40])


@dataclass(frozen=True)
class _Attempt:
    key: AccessKey | None  # the active key the username names, if any
    address_row: int  # the attempt's row under the address name


def authenticate(username: str, password: str, client_address: str) -> SmtpLogin:
    """Check an SMTP login; the session's account, key and region, or LoginRefused.

    1. Count the attempt for the client address and the key name (refused without looking
       at the password when a limit applies: see the module docstring).
    2. Derive the password of the named key (or of a dummy secret) in every region with an
       SMTP endpoint and compare each, all of them, in constant time.
    3. A match takes back this attempt, clears the key's failures from this address, marks
       the address as trusted for the key and records the key's use; a miss leaves the
       attempt counted as a failure.
    """
    # AUTH LOGIN carries any bytes; a key id is printable ASCII, and the store (PostgreSQL)
    # refuses NUL, so anything else is a wrong user name, counted under its printable part.
    key_id = "".join(c for c in username if c.isprintable())
    attempt = _begin(key_id, client_address)
    key = attempt.key if key_id == username else None
    region = _matching_region(key, password.encode("utf-8", errors="replace"))
    if key is None or region is None:
        raise LoginRefused(BAD_CREDENTIALS)
    _succeeded(key.access_key_id, client_address, attempt)
    key.touch()
    return logged_in(key.account, key.access_key_id, region)


def _begin(key_id: str, address: str) -> _Attempt:
    """Check the limits and count the attempt, as one step; LoginRefused when limited."""
    now = timezone.now()
    key_name = _key_name(key_id)
    with transaction.atomic():
        key = (
            AccessKey.objects.active()
            .select_related("account")
            .select_for_update(of=("self",))
            .filter(access_key_id=key_id)
            .first()
        )
        wait = _address_wait(address, now)
        if wait > 0:
            raise LoginRefused(ADDRESS_LIMITED.format(wait=_in_words(wait)), temporary=True)
        wait = _key_wait(key_id, key_name, address, now)
        if wait > 0:
            raise LoginRefused(KEY_LIMITED.format(wait=_in_words(wait)), temporary=True)
        LoginAttempt.objects.filter(username=key_name, at__lte=now - KEY_WINDOW).delete()
        LoginAttempt.objects.filter(
            username=_ADDRESS_NAME, ip_address=address, at__lte=now - ADDRESS_WINDOW
        ).delete()
        LoginAttempt.objects.create(username=key_name, ip_address=address, at=now)
        row = LoginAttempt.objects.create(username=_ADDRESS_NAME, ip_address=address, at=now)
    return _Attempt(key, row.pk)


def _address_wait(address: str, now: datetime) -> int:
    """Seconds until the address may try again (0: now)."""
    recent = LoginAttempt.objects.filter(
        username=_ADDRESS_NAME, ip_address=address, at__gt=now - ADDRESS_WINDOW
    )
    return recent.wait_after_limit(ADDRESS_FAILURE_LIMIT, ADDRESS_WINDOW, now)


def _key_wait(key_id: str, key_name: str, address: str, now: datetime) -> int:
    """Seconds until the key may be tried again from this address (0: now)."""
    recent = LoginAttempt.objects.filter(username=key_name, at__gt=now - KEY_WINDOW)
    wait = recent.backoff(KEY_FREE_FAILURES, KEY_MAX_DELAY, now)
    if wait == 0:
        return 0
    trusted = LoginAttempt.objects.filter(
        username=_trusted_name(key_id), ip_address=address, at__gt=now - TRUSTED_FOR
    )
    return 0 if trusted.exists() else wait


def _matching_region(key: AccessKey | None, password: bytes) -> Region | None:
    """The region whose derived password is `password`, if any. Every region is derived and
    compared, for an unknown key too (against a dummy secret), so the work is the same."""
    if key is None:
        key = AccessKey(secret_encrypted=_dummy_secret_encrypted())
    secret = key.secret()
    found = None
    for region in smtp_regions():
        expected = smtp_password(secret, region.code).encode("ascii")
        if hmac.compare_digest(expected, password) and found is None:
            found = region
    return found


def _succeeded(access_key_id: str, address: str, attempt: _Attempt) -> None:
    key_name, trusted_name = _key_name(access_key_id), _trusted_name(access_key_id)
    with transaction.atomic():
        LoginAttempt.objects.filter(pk=attempt.address_row).delete()
        LoginAttempt.objects.filter(username=key_name, ip_address=address).delete()
        now = timezone.now()
        LoginAttempt.objects.filter(username=trusted_name, at__lte=now - TRUSTED_FOR).delete()
        # Replaced rather than updated: two logins at once may both write one, which is
        # harmless (only its existence counts), where an update_or_create would then fail.
        LoginAttempt.objects.filter(username=trusted_name, ip_address=address).delete()
        LoginAttempt.objects.create(username=trusted_name, ip_address=address, at=now)


def _key_name(access_key_id: str) -> str:
    return _KEY_NAME.format(access_key_id=access_key_id)[:150]  # LoginAttempt.username's length


def _trusted_name(access_key_id: str) -> str:
    return _TRUSTED_NAME.format(access_key_id=access_key_id)[:150]


def _in_words(seconds: int) -> str:
    return f"{seconds} second{'' if seconds == 1 else 's'}"
