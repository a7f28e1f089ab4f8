"""Authoritative DNS servers sesconsole may update by RFC 2136."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.messages import DEFAULT_TAGS
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from sesconsole import encryption

from ..validators import validate_tsig_key_name, validate_zone_name

if TYPE_CHECKING:
    from ..dns_publish import UpdateTarget


class DnsServer(models.Model):
    """An authoritative server an account lets sesconsole update by RFC 2136 (TSIG)."""

    class Algorithm(models.TextChoices):
        HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256"
        HMAC_SHA512 = "hmac-sha512", "HMAC-SHA512"
        HMAC_SHA1 = "hmac-sha1", "HMAC-SHA1"

    # No account: an operator's server, used for the signing hosted zone that serves the Easy
    # DKIM public keys (identities.signing_zone); only admin manages those.
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="dns_servers"
    )
    zone = models.CharField(max_length=253, validators=[validate_zone_name])
    server = models.CharField(max_length=255, help_text="Host name or IP address.")
    port = models.PositiveIntegerField(default=53)
    key_name = models.CharField(max_length=253, validators=[validate_tsig_key_name])
    key_algorithm = models.CharField(
        max_length=16, choices=Algorithm.choices, default=Algorithm.HMAC_SHA256
    )
    key_secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["zone"]
        verbose_name = "DNS server"
        constraints = [
            models.UniqueConstraint(fields=["account", "zone"], name="unique_dns_server_zone"),
            models.UniqueConstraint(
                fields=["zone"],
                condition=Q(account__isnull=True),
                name="unique_operator_dns_server_zone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone} @ {self.server}:{self.port}"

    def set_secret(self, secret: str) -> None:
        self.key_secret_encrypted = encryption.encrypt(secret)

    def secret(self) -> str:
        return encryption.decrypt(self.key_secret_encrypted)

    def update_target(self) -> UpdateTarget:
        """What identities.dns_publish needs to send updates here (the secret decrypted).

        An account's server carries the address rule, checked at every connect; its names are
        checked again here, as a row saved before the name rules existed may break them."""
        from ..dns_destinations import Destinations
        from ..dns_publish import PublishError, UpdateTarget  # dnspython stays out of models

        try:
            validate_zone_name(self.zone)
            validate_tsig_key_name(self.key_name)
        except ValidationError as exc:
            raise PublishError(f"Could not publish to {self.server}: {exc.messages[0]}") from exc
        return UpdateTarget(
            zone=self.zone,
            server=self.server,
            port=self.port,
            key_name=self.key_name,
            key_algorithm=self.key_algorithm,
            key_secret=self.secret(),
            destinations=None if self.account_id is None else Destinations.from_settings(),
        )


class DnsPublishRun(models.Model):
    """One "Publish DNS records" request, done by the worker: its progress and its outcome.

    The console creates it QUEUED and polls it; the task claims it (QUEUED -> RUNNING with a
    conditional update, so a redelivered message does not publish twice) and finishes it with
    the messages the user sees. The same outcome also goes to the identity's History.
    """

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Waiting for a worker"
        RUNNING = "RUNNING", "Publishing"
        DONE = "DONE", "Done"

    identity = models.ForeignKey(
        "identities.Identity", on_delete=models.CASCADE, related_name="publish_runs"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="publish_runs")
    actor = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # [(django.contrib.messages level, sentence), ...] once DONE.
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "DNS publishing run"

    def __str__(self) -> str:
        return f"{self.identity_id} {self.status} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    def tagged_notes(self) -> list[tuple[str, str]]:
        """The outcome as (message tag, sentence), styled like the console's messages."""
        return [(DEFAULT_TAGS.get(level, "info"), text) for level, text in self.notes]

    def claim(self, *, stale_before: datetime) -> bool:
        """QUEUED -> RUNNING, or take over a RUNNING run whose worker died (started before
        `stale_before`). False if another worker has it or it is done."""
        now = timezone.now()
        claimed = (
            DnsPublishRun.objects.filter(pk=self.pk)
            .filter(
                Q(status=self.Status.QUEUED)
                | Q(status=self.Status.RUNNING, started_at__lt=stale_before)
            )
            .update(status=self.Status.RUNNING, started_at=now)
        )
        if claimed:
            self.status, self.started_at = self.Status.RUNNING, now
        return bool(claimed)

    def finish(self, notes: list[tuple[int, str]]) -> None:
        self.status = self.Status.DONE
        self.notes = [list(note) for note in notes]
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "notes", "finished_at"])
