"""Legacy (SES v1) domain verification: the `_amazonses.<domain>` TXT record.

v1 `VerifyDomainIdentity` gives a domain a token to publish as TXT at `_amazonses.<domain>`.
The DNS check looks for it (records.expected_records lists it while `legacy_txt_status` is set)
and moves `legacy_txt_status` with SES's state machine (`next_setup_status`: PENDING, SUCCESS,
TEMPORARY_FAILURE, FAILED after 72 hours). The domain itself is verified when either the TXT
record or DKIM is (`Identity._domain_status`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from .choices import VerificationStatus, new_verification_token, next_setup_status

if TYPE_CHECKING:
    from .history import IdentityEvent


class LegacyVerification(models.Model):
    """The legacy verification fields and transitions of `Identity` (an abstract base: the
    columns live on its table). An empty status: the domain is verified through DKIM alone."""

    verification_token = models.CharField(max_length=64, blank=True)
    legacy_txt_status = models.CharField(
        max_length=20, choices=VerificationStatus.choices, blank=True
    )
    legacy_txt_status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    if TYPE_CHECKING:  # provided by Identity
        created_at: datetime
        verification_status: str
        check_count: int

        def _domain_status(self) -> str: ...
        def _set_verification_status(self, status: str, now: datetime) -> None: ...
        def _restart_checks(self, now: datetime) -> None: ...
        def _status_event(self, what: str, old: str, new: str, now: datetime) -> IdentityEvent: ...

    LEGACY_FIELDS = (
        "verification_token",
        "legacy_txt_status",
        "legacy_txt_status_changed_at",
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
        "next_check_at",
        "check_count",
    )

    def ensure_verification_token(self) -> str:
        """The domain's `_amazonses` token, made (and saved) on first use: v1 reports one for
        every domain, including those created through v2 (UNVERIFIED; ses-v1-api.md §5)."""
        if not self.verification_token:
            self.verification_token = new_verification_token()
            self.save(update_fields=["verification_token"])
        return self.verification_token

    def start_legacy_verification(self, now: datetime | None = None) -> bool:
        """Look for the `_amazonses` TXT record (v1 VerifyDomainIdentity): PENDING with a fresh
        72-hour window, keeping the token. False (nothing changes) while it is still pending or
        verified: calling VerifyDomainIdentity again then only returns the token."""
        if self.legacy_txt_status in ("PENDING", "SUCCESS", "TEMPORARY_FAILURE"):
            return False
        self.begin_legacy_verification(now or timezone.now())
        self.save(update_fields=list(self.LEGACY_FIELDS))
        return True

    def begin_legacy_verification(self, now: datetime) -> None:
        """`start_legacy_verification` without the guard and the save: for a new identity,
        saved by its creator."""
        self.verification_token = self.verification_token or new_verification_token()
        self.legacy_txt_status = VerificationStatus.PENDING
        self.legacy_txt_status_changed_at = now
        self._set_verification_status(self._domain_status(), now)
        self._restart_checks(now)

    def apply_txt_check(self, outcome: str | None, now: datetime) -> list[IdentityEvent]:
        """Move the legacy TXT status by one check's outcome, and the domain with it."""
        if outcome is None or not self.legacy_txt_status:
            return []
        since = self.legacy_txt_status_changed_at or self.created_at
        new = next_setup_status(self.legacy_txt_status, since, outcome, now)
        if new is None:
            return []
        old_txt, old_identity = self.legacy_txt_status, self.verification_status
        self.legacy_txt_status = new
        self.legacy_txt_status_changed_at = now
        self._set_verification_status(self._domain_status(), now)
        self.check_count = 0
        events = [self._status_event("Verification TXT record", old_txt, new, now)]
        if self.verification_status != old_identity:
            events.append(
                self._status_event("Identity", old_identity, self.verification_status, now)
            )
        return events
