"""An identity's history: what changed, when, and who changed it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from .identity import Identity


class IdentityEvent(models.Model):
    """The identity's history as users see it on its page."""

    identity = models.ForeignKey(
        "identities.Identity", on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40)
    message = models.TextField()
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"

    @classmethod
    def record(cls, identity: Identity, kind: str, message: str, actor: str = "") -> IdentityEvent:
        return cls.objects.create(identity=identity, kind=kind, message=message, actor=actor)
