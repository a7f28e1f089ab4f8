"""DEED (Deterministic Easy DKIM) replicas: a domain identity that signs with the Easy DKIM
tokens and keys of the same domain's identity in another region (its parent).

A replica publishes no DNS records of its own and is not looked up for DKIM: its DKIM state is
copied from its parent whenever the parent's changes (`identities.replicas.follow`), so it is
verified exactly when its parent is. Problems are reported as SES reports them, in the
replica's VerificationInfo.ErrorType (REPLICATION_*), with DKIM FAILED.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models

from .choices import DkimOrigin, VerificationStatus

if TYPE_CHECKING:
    from .identity import Identity

REPLICA_ORIGIN_PREFIX = "AWS_SES_"


class DeedReplica(models.Model):
    """The replica fields and transition of `Identity` (an abstract base: the columns live on
    its table)."""

    dkim_parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="dkim_replicas"
    )

    class Meta:
        abstract = True

    if TYPE_CHECKING:  # provided by Identity
        dkim_origin: str
        dkim_tokens: list[str]
        dkim_next_key_length: str
        dkim_current_key_length: str
        dkim_last_key_generation_at: datetime | None
        verification_error: str

        def _set_dkim_status(self, status: str, now: datetime, restart: bool = False) -> None: ...

    @property
    def is_replica(self) -> bool:
        return self.dkim_origin.startswith(REPLICA_ORIGIN_PREFIX) and self.dkim_origin not in (
            DkimOrigin.AWS_SES,
            DkimOrigin.EXTERNAL,
        )

    FOLLOW_FIELDS = (
        "dkim_parent",
        "dkim_tokens",
        "dkim_next_key_length",
        "dkim_current_key_length",
        "dkim_last_key_generation_at",
        "dkim_status",
        "dkim_status_changed_at",
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
        "verification_error",
        "next_check_at",
        "check_count",
    )

    def follow_parent(self, parent: Identity | None, problem: str, now: datetime) -> None:
        """Take the parent's Easy DKIM setup and status, or (with `problem`, a REPLICATION_*
        error type) fail. Unsaved: the caller saves FOLLOW_FIELDS."""
        self.dkim_parent = parent  # kept with a problem: a parent back on Easy DKIM is followed
        if parent is None or problem:
            self.dkim_tokens = []
            self.verification_error = problem
            self._set_dkim_status(VerificationStatus.FAILED, now)
            return
        self.dkim_tokens = list(parent.dkim_tokens)
        self.dkim_next_key_length = parent.dkim_next_key_length
        self.dkim_current_key_length = parent.dkim_current_key_length
        self.dkim_last_key_generation_at = parent.dkim_last_key_generation_at
        self.verification_error = ""
        self._set_dkim_status(parent.dkim_status, now)
