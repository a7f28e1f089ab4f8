"""Console forms: Send test email, and the Sent messages filters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Account, Region
from identities.models import Identity

from .models import VERIFICATION_OPERATIONS, Status
from .operations import Outgoing, Simple
from .simulator import SCENARIOS, address_for

CUSTOM = "custom"
SCENARIO_CHOICES = [
    ("success", "Delivered"),
    ("bounce", "Bounced"),
    ("ooto", "Out of the office"),
    ("complaint", "Complaint"),
    ("suppressionlist", "Suppression list"),
    (CUSTOM, "Custom"),
]
assert {value for value, _ in SCENARIO_CHOICES} == {*SCENARIOS, CUSTOM}


class TestEmailForm(forms.Form):
    """The SES console's "Send test email" (formatted): the same send() as every API."""

    local_part = forms.CharField(
        label="From address",
        max_length=64,
        help_text="The part before the @; the domain is this identity.",
    )
    scenario = forms.ChoiceField(
        choices=SCENARIO_CHOICES,
        initial="success",
        help_text="A mailbox simulator address (never delivered, the outcome is recorded), or "
        "your own recipient.",
    )
    custom_recipient = forms.CharField(
        required=False,
        max_length=320,
        help_text="Needed for Custom. In the sandbox it must be a verified identity.",
    )
    email_format = forms.ChoiceField(
        choices=[("FORMATTED", "Formatted"), ("RAW", "Raw")],
        initial="FORMATTED",
        widget=forms.RadioSelect,
        help_text="Raw: the body is a whole MIME message, headers first, then a blank line. A "
        "blank line between two headers ends the headers early.",
    )
    subject = forms.CharField(max_length=998, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000)
    configuration_set = forms.ChoiceField(required=False)
    tags = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One name=value per line (letters, digits, _ and -).",
    )

    def __init__(self, *args: Any, identity: Identity, set_names: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.identity = identity
        sets = self.fields["configuration_set"]
        assert isinstance(sets, forms.ChoiceField)
        sets.choices = [
            ("", "Default (the identity's, if any)"),
            *[(name, name) for name in set_names],
        ]
        if not identity.is_domain:
            del self.fields["local_part"]

    def clean_tags(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.cleaned_data["tags"].splitlines():
            if line.strip():
                name, _, value = line.strip().partition("=")
                pairs.append((name.strip(), value.strip()))
        return pairs

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scenario") == CUSTOM and not data.get("custom_recipient"):
            self.add_error("custom_recipient", "Enter the recipient for the Custom scenario.")
        if data.get("email_format") == "FORMATTED" and not data.get("subject"):
            self.add_error("subject", "Enter a subject.")
        return data

    def outgoing(self, account: Account, region: Region, actor: str) -> Outgoing:
        """The message for sending.operations.send: Simple content, or the raw MIME given."""
        data = self.cleaned_data
        common: dict[str, Any] = {
            "account": account,
            "region": region,
            "actor": actor,
            "from_address": self.from_address,
            "configuration_set_name": data["configuration_set"] or None,
            "tags": data["tags"],
        }
        if data["email_format"] == "RAW":
            raw = data["body"].replace("\r\n", "\n").replace("\n", "\r\n").encode()
            return Outgoing(raw=raw, envelope_recipients=[self.recipient], **common)
        simple = Simple(subject=data["subject"], text=data["body"])
        return Outgoing(simple=simple, to=[self.recipient], **common)

    @property
    def from_address(self) -> str:
        if not self.identity.is_domain:
            return self.identity.name
        return f"{self.cleaned_data['local_part']}@{self.identity.name}"

    @property
    def recipient(self) -> str:
        scenario = self.cleaned_data["scenario"]
        return (
            self.cleaned_data["custom_recipient"] if scenario == CUSTOM else address_for(scenario)
        )


KIND_ACCOUNT = "account"
KIND_VERIFICATION = "verification"


class SentFilterForm(forms.Form):
    """Filters of the Sent messages list. From and To take an address or a domain (README,
    "Sending"); on PostgreSQL every filter is one index range read (migration 0004)."""

    kind = forms.ChoiceField(
        required=False,
        label="Kind",
        choices=[
            ("", "All outgoing mail"),
            (KIND_ACCOUNT, "Sent by the account"),
            (KIND_VERIFICATION, "Verification emails"),
        ],
    )
    sender = forms.CharField(
        required=False,
        max_length=320,
        label="From",
        help_text="An email address, or a domain for every address at it (case is ignored).",
        widget=forms.TextInput(attrs={"placeholder": "address or domain"}),
    )
    recipient = forms.CharField(
        required=False,
        max_length=320,
        label="To",
        help_text="A recipient's address (To, Cc or Bcc), or a domain (case is ignored).",
        widget=forms.TextInput(attrs={"placeholder": "address or domain"}),
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    configuration_set = forms.CharField(required=False, max_length=64)
    since = forms.DateField(required=False, label="From date")
    until = forms.DateField(required=False, label="To date")

    def clean_sender(self) -> tuple[str, str] | None:
        return _address_or_domain(self.cleaned_data["sender"])

    def clean_recipient(self) -> tuple[str, str] | None:
        return _address_or_domain(self.cleaned_data["recipient"])

    def filter(self, queryset: Any) -> Any:
        data = self.cleaned_data
        if data.get("kind") == KIND_VERIFICATION:
            queryset = queryset.filter(operation__in=VERIFICATION_OPERATIONS)
        elif data.get("kind") == KIND_ACCOUNT:
            queryset = queryset.exclude(operation__in=VERIFICATION_OPERATIONS)
        if data.get("sender"):
            kind, value = data["sender"]
            queryset = (
                queryset.from_address_is(value)
                if kind == ADDRESS
                else queryset.from_domain_is(value)
            )
        if data.get("recipient"):
            kind, value = data["recipient"]
            queryset = (
                queryset.to_address_is(value) if kind == ADDRESS else queryset.to_domain_is(value)
            )
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("configuration_set"):
            queryset = queryset.filter(configuration_set_name=data["configuration_set"])
        if data.get("since"):
            queryset = queryset.filter(accepted_at__gte=_start_of(data["since"]))
        if data.get("until"):
            queryset = queryset.filter(accepted_at__lt=_start_of(data["until"], next_day=True))
        return queryset


ADDRESS, DOMAIN = "address", "domain"


def _address_or_domain(value: str) -> tuple[str, str] | None:
    """("address", "jane@example.com") for an address, ("domain", "example.com") for
    "example.com" or "@example.com"; lower-cased, as the filters compare without case."""
    value = value.strip().lower()
    if not value:
        return None
    local, _, domain = value.rpartition("@")
    if not domain or " " in value:
        raise forms.ValidationError(
            "Enter an email address (jane@example.com) or a domain (example.com)."
        )
    return (ADDRESS, value) if local else (DOMAIN, domain)


def _start_of(day: date, *, next_day: bool = False) -> datetime:
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timedelta(days=1) if next_day else moment
