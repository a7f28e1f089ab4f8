"""Tags on identities, configuration sets and templates, and identities' sending authorization policies."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Tag(models.Model):
    """A tag on an identity, configuration set or custom verification template."""

    identity = models.ForeignKey(
        "identities.Identity", null=True, blank=True, on_delete=models.CASCADE, related_name="tags"
    )
    configuration_set = models.ForeignKey(
        "identities.ConfigurationSet",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tags",
    )
    template = models.ForeignKey(
        "templates_app.CustomVerificationEmailTemplate",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tags",
    )
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(identity__isnull=False, configuration_set__isnull=True, template__isnull=True)
                    | Q(
                        identity__isnull=True,
                        configuration_set__isnull=False,
                        template__isnull=True,
                    )
                    | Q(
                        identity__isnull=True,
                        configuration_set__isnull=True,
                        template__isnull=False,
                    )
                ),
                name="tag_has_exactly_one_resource",
            ),
            models.UniqueConstraint(fields=["identity", "key"], name="unique_identity_tag_key"),
            models.UniqueConstraint(
                fields=["configuration_set", "key"], name="unique_configuration_set_tag_key"
            ),
            models.UniqueConstraint(fields=["template", "key"], name="unique_template_tag_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class IdentityPolicy(models.Model):
    """A sending authorization policy (JSON document) attached to an identity."""

    identity = models.ForeignKey(
        "identities.Identity", on_delete=models.CASCADE, related_name="policies"
    )
    name = models.CharField(max_length=64)
    document = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "identity policies"
        constraints = [
            models.UniqueConstraint(fields=["identity", "name"], name="unique_identity_policy_name")
        ]

    def __str__(self) -> str:
        return self.name
