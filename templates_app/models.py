"""Custom verification email templates (SES: CreateCustomVerificationEmailTemplate)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Account, Region

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

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:ses:{self.region_id}:{self.account_id}:"
            f"custom-verification-email-template/{self.name}"
        )
