"""Console forms for custom verification email templates: the rules live in rules.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Account, Region
from sesconsole import listing

from . import rules
from .models import CustomVerificationEmailTemplate


class TemplateForm(forms.Form):
    name = forms.CharField(
        label="Template name",
        max_length=64,
        help_text="1–64 letters, digits, underscores and hyphens. Unique in this region.",
    )
    from_email_address = forms.CharField(
        label="From email address",
        max_length=320,
        help_text="A verified address, or an address on a verified domain. No display name.",
    )
    subject = forms.CharField(label="Subject", max_length=998)
    content = forms.CharField(
        label="Content (HTML)",
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        help_text=(
            "Under 10 MB. Only the tags and attributes SES allows, no comments, no links: the "
            "verification link and a fixed footer are added below your content."
        ),
    )
    success_redirection_url = forms.CharField(
        label="Success redirection URL",
        max_length=2000,
        help_text="Where people land after verifying.",
    )
    failure_redirection_url = forms.CharField(
        label="Failure redirection URL",
        max_length=2000,
        help_text="Where people land when the link has expired or was already used.",
    )

    def __init__(
        self,
        *args: Any,
        account: Account,
        region: Region,
        instance: CustomVerificationEmailTemplate | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {field: getattr(instance, field) for field in rules.FIELDS}
        super().__init__(*args, **kwargs)
        self.account, self.region, self.instance = account, region, instance
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.strip = False  # rules.py normalises; the content must stay byte for byte

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.cleaned = rules.clean_template(
                self.account, self.region, data, instance=self.instance
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                self.add_error(None, exc)
            else:
                self.add_error("name" if exc.code == "already_exists" else None, exc)
        return data

    def save(self) -> CustomVerificationEmailTemplate:
        return rules.save_template(self.account, self.region, self.cleaned, instance=self.instance)


class SendTestForm(forms.Form):
    email_address = forms.CharField(
        label="Recipient email address",
        max_length=320,
        help_text="An address you can read. Nothing is created unless you click the link.",
    )


class TemplateFilterForm(listing.ListFilterForm):
    q = forms.CharField(label="Find templates", required=False, max_length=320)
