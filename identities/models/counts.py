"""How many identities each account has in each region, kept by the database itself."""

from __future__ import annotations

from django.db import models

from accounts.models import Account, Region


class IdentityCount(models.Model):
    """The number of identities of one account in one region, for the per-region limit.

    Written only by triggers on the identity table (migration 0008): every inserted row adds one,
    every deleted row takes one off, however it was inserted or deleted (operations, bulk_create,
    cascades); an identity's account and region never change (admin shows them read-only), so
    updates need no trigger. Counting instead took a COUNT(*) over the account's identities on
    every create, the create's largest cost (BENCHMARKS.md, issue 19). The insert's trigger also
    locks this row until the transaction ends: that lock is what makes concurrent creates in one
    account and region queue for the limit check (identities.provisioning.check_identity_limit).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    identities = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "region"], name="one_count_per_region")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.region_id}: {self.identities}"
