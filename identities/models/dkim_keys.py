"""DKIM signing keys, their private halves encrypted at rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from sesconsole import encryption

if TYPE_CHECKING:
    from .identity import Identity


class DkimKey(models.Model):
    """An RSA signing key: one per Easy DKIM token, or the pasted BYODKIM key."""

    identity = models.ForeignKey(
        "identities.Identity", on_delete=models.CASCADE, related_name="dkim_keys"
    )
    selector = models.CharField(max_length=63)  # the Easy DKIM token or the BYODKIM selector
    key_size = models.PositiveSmallIntegerField()
    private_key_encrypted = models.TextField(editable=False)
    public_key = models.TextField(help_text="Base64 DER SubjectPublicKeyInfo: the DKIM p= value.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity", "selector"], name="unique_dkim_selector")
        ]

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.identity.domain}"

    @classmethod
    def store(
        cls,
        identity: Identity,
        selector: str,
        private_key_base64: str,
        public_key_base64: str,
        key_size: int,
    ) -> DkimKey:
        return cls.objects.create(
            identity=identity,
            selector=selector,
            key_size=key_size,
            private_key_encrypted=encryption.encrypt(private_key_base64),
            public_key=public_key_base64,
        )

    def private_key_base64(self) -> str:
        return encryption.decrypt(self.private_key_encrypted)

    @property
    def txt_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"
