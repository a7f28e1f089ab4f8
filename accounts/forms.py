"""The Account dashboard's "Request production access" form (SES PutAccountDetails), and the
sign-in form with its rate limit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from sesconsole import listing

from .models import (
    MAX_ADDITIONAL_CONTACTS,
    AccessKey,
    AccountRegion,
    LoginAttempt,
    LoginRefusal,
    ProductionAccessPending,
)


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
        # Only the splitting: the rules (how many, valid addresses) are the model's, shared
        # with the API (AccountRegion.request_production_access).
        raw = [part.strip() for part in self.cleaned_data["additional_contacts"].split(",")]
        return [part for part in raw if part]

    def submit(self, state: AccountRegion) -> bool:
        """Send the request; False with the model's refusal on the form (its rules, or a
        request already under review)."""
        data = self.cleaned_data
        try:
            state.request_production_access(
                mail_type=data["mail_type"],
                website_url=data["website_url"],
                use_case_description=data["use_case_description"],
                contact_language=data["contact_language"],
                additional_contact_email_addresses=data["additional_contacts"],
            )
        except ProductionAccessPending as exc:
            self.add_error(None, ValidationError(str(exc), code="pending"))
            return False
        except ValidationError as exc:
            self.add_error(None, exc)
            return False
        return True


TOO_MANY_SIGN_IN_FAILURES = "Too many failed sign-in attempts. Wait 15 minutes and try again."


def client_address(request: Any) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can write any address into that header.
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:45]


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Counts each attempt before its password is checked, and refuses one beyond the limits
    (accounts.models.LoginAttempt.begin) without checking it."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "rate_limited": TOO_MANY_SIGN_IN_FAILURES,
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if username and self.cleaned_data.get("password"):
            refusal = LoginAttempt.begin(username, client_address(self.request))
            if refusal is not None:
                raise ValidationError(_refusal_message(refusal), code="rate_limited")
        return super().clean()


def _refusal_message(refusal: LoginRefusal) -> str:
    if refusal.code == "address":
        return TOO_MANY_SIGN_IN_FAILURES
    seconds = refusal.wait_seconds
    return (
        "Too many failed sign-in attempts for this user name. Wait "
        f"{seconds} second{'' if seconds == 1 else 's'} and try again."
    )


class AccessKeyFilterForm(listing.ListFilterForm):
    q = forms.CharField(label="Find access keys", required=False, max_length=320)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *AccessKey.Status.choices]
    )
