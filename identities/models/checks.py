"""The last DNS check of each expected record, with its diagnosis."""

from __future__ import annotations

from django.db import models

from .choices import VerificationError, VerificationStatus


class RecordCheck(models.Model):
    """The last DNS check of one expected record of an identity, with a diagnosis."""

    identity = models.ForeignKey(
        "identities.Identity", on_delete=models.CASCADE, related_name="record_checks"
    )
    purpose = models.CharField(max_length=16)
    name = models.CharField(max_length=255)
    record_type = models.CharField(max_length=8)
    status = models.CharField(max_length=20, choices=VerificationStatus.choices)
    error = models.CharField(max_length=48, choices=VerificationError.choices, blank=True)
    found = models.JSONField(default=list, blank=True)
    diagnosis = models.CharField(max_length=40, blank=True)
    hint = models.TextField(blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["purpose", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "purpose", "name", "record_type"], name="unique_record_check"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.name}: {self.status}"

    @property
    def needs_attention(self) -> bool:
        """Wrong, though its setup is verified: an SPF record, as SES moves MAIL FROM on the MX
        alone. The page must not show it as plainly verified next to its hint."""
        return self.status == VerificationStatus.SUCCESS and bool(self.diagnosis)
