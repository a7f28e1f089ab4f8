"""Configuration sets: named groups of sending rules an identity can use by default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from accounts.models import Account, Region

if TYPE_CHECKING:
    from .identity import Identity


class ConfigurationSet(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="configuration_sets"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64)
    sending_enabled = models.BooleanField(default=True)
    # The rest of SES's options (tracking, delivery, reputation, suppression, VDM, archiving)
    # are kept as the API sent them, so GetConfigurationSet can answer faithfully.
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "name"], name="unique_configuration_set_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:ses:{self.region_id}:{self.account_id}:configuration-set/{self.name}"

    def identities_using_as_default(self) -> models.QuerySet[Identity]:
        return self.account.identities.filter(
            region_id=self.region_id, configuration_set_name=self.name
        )
