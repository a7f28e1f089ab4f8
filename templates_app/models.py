"""Custom verification email templates (SES: CreateCustomVerificationEmailTemplate)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from django.utils import timezone

from accounts.models import Account, Region

from . import html_rules

MAX_TEMPLATES_PER_REGION = 50


class CustomVerificationEmailTemplate(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="verification_templates"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64)
    from_email_address = models.CharField(max_length=320)
    subject = models.CharField(max_length=998)
    content = models.TextField()
    success_redirection_url = models.URLField(max_length=2000)
    failure_redirection_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The content sanitised for the console's preview (or why it can't be shown), computed
    # when the content is saved, never on a page view: sanitising costs up to 10 MB of parsing.
    content_digest = models.CharField(max_length=64, blank=True, editable=False)
    preview_html = models.TextField(blank=True, editable=False)
    preview_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "custom verification email template"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "name"], name="unique_verification_template_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every write path (console, API, admin) keeps the preview in step with the content.
        changed = self.refresh_preview()
        if changed and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = [*kwargs["update_fields"], *changed]
        super().save(*args, **kwargs)

    def refresh_preview(self) -> list[str]:
        """Sanitise the content for the preview if it changed since the last time; returns
        the fields it set."""
        digest = content_digest(self.content)
        if digest == self.content_digest:
            return []
        self.preview_html, self.preview_error = html_rules.preview(self.content)
        self.content_digest = digest
        return ["content_digest", "preview_html", "preview_error"]

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:ses:{self.region_id}:{self.account_id}:"
            f"custom-verification-email-template/{self.name}"
        )


def content_digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
