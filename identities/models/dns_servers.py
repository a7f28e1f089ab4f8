"""Authoritative DNS servers sesconsole may update by RFC 2136."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
