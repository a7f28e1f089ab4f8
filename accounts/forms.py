"""The Account dashboard's "Request production access" form (SES PutAccountDetails)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from identities import validators

from .models import AccountRegion

MAX_ADDITIONAL_CONTACTS = 4


class ProductionAccessForm(forms.Form):
    mail_type = forms.ChoiceField(
        label="Mail type", choices=AccountRegion.MailType.choices, widget=forms.RadioSelect
    )
    website_url = forms.URLField(
        label="Website URL",
        max_length=1000,
        assume_scheme="https",
        help_text="The website where recipients sign up for your mail.",
    )
    use_case_description = forms.CharField(
        label="Use case description",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="How you collect addresses, how often you send, how you handle bounces.",
    )
    contact_language = forms.ChoiceField(
        label="Preferred contact language", choices=[("EN", "English"), ("JA", "Japanese")]
    )
    additional_contacts = forms.CharField(
        label="Additional contacts",
        required=False,
        max_length=1000,
        help_text=f"Up to {MAX_ADDITIONAL_CONTACTS} email addresses, separated by commas.",
    )

    def clean_additional_contacts(self) -> list[str]:
        raw = [part.strip() for part in self.cleaned_data["additional_contacts"].split(",")]
        addresses = [part for part in raw if part]
        if len(addresses) > MAX_ADDITIONAL_CONTACTS:
            raise ValidationError(
                f"Enter at most {MAX_ADDITIONAL_CONTACTS} additional contacts; you entered "
                f"{len(addresses)}."
            )
        return [validators.normalize_email(address) for address in addresses]
