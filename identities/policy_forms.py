"""Forms of the identity page's Authorization tab: a sending authorization policy from the
policy generator (effect, principals, actions, one condition) or pasted as JSON, and the JSON
editor. The documents they produce are validated by the policy operations, as the API's are."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from sesconsole import validators

from .models import Identity

ACTIONS = [
    ("ses:SendEmail", "SendEmail"),
    ("ses:SendRawEmail", "SendRawEmail (also SMTP)"),
    ("ses:SendTemplatedEmail", "SendTemplatedEmail"),
    ("ses:SendBulkTemplatedEmail", "SendBulkTemplatedEmail"),
]
CONDITION_KEYS = [
    ("", "No condition"),
    ("ses:FromAddress", "ses:FromAddress (the From address)"),
    ("ses:FromDisplayName", "ses:FromDisplayName (the From display name)"),
    ("ses:Recipients", "ses:Recipients (To, Cc and Bcc)"),
    ("ses:FeedbackAddress", "ses:FeedbackAddress (the Return-Path)"),
]
CONDITION_OPERATORS = [
    ("StringEquals", "StringEquals"),
    ("StringLike", "StringLike (* and ? wildcards)"),
    ("StringNotLike", "StringNotLike"),
    ("ForAllValues:StringLike", "ForAllValues:StringLike (every recipient)"),
]
# An AWS account id, or an IAM ARN in one (root, a user or a role).
PRINCIPAL = re.compile(
    r"^(\d{12}|arn:aws:iam::\d{12}:(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+))\Z"
)


GENERATOR_FIELDS = (
    "effect",
    "principals",
    "actions",
    "condition_key",
    "condition_operator",
    "condition_values",
)


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value or "") if part]


class PolicyCreateForm(forms.Form):
    name = forms.CharField(
        label="Policy name",
        max_length=64,
        help_text="1–64 letters, digits, hyphens and underscores.",
    )
    mode = forms.ChoiceField(
        label="How to create the policy",
        choices=[("generator", "Policy generator"), ("json", "Custom policy (JSON)")],
        widget=forms.RadioSelect,
        initial="generator",
    )
    effect = forms.ChoiceField(
        label="Effect",
        choices=[("Allow", "Allow"), ("Deny", "Deny")],
        initial="Allow",
        required=False,
        widget=forms.RadioSelect,
    )
    principals = forms.CharField(
        label="AWS account IDs or IAM ARNs",
        required=False,
        help_text="Who may send from this identity: 12-digit account IDs or "
        "arn:aws:iam::ACCOUNT:root / user/NAME / role/NAME, separated by commas.",
    )
    actions = forms.MultipleChoiceField(
        label="Actions",
        choices=ACTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["ses:SendEmail", "ses:SendRawEmail"],
    )
    condition_key = forms.ChoiceField(label="Condition key", choices=CONDITION_KEYS, required=False)
    condition_operator = forms.ChoiceField(
        label="Condition operator", choices=CONDITION_OPERATORS, required=False
    )
    condition_values = forms.CharField(
        label="Condition values",
        required=False,
        help_text="One or more values, separated by commas, for example *@example.com.",
    )
    document = forms.CharField(
        label="Policy document (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code-input"}),
        help_text="A sending authorization policy of at most 4 KB.",
    )

    def __init__(self, *args: Any, identity: Identity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identity = identity

    def clean_name(self) -> str:
        return validators.validate_policy_name(self.cleaned_data.get("name", ""))

    def clean_principals(self) -> list[str]:
        principals = _split(self.cleaned_data.get("principals", ""))
        bad = [p for p in principals if not PRINCIPAL.match(p)]
        if bad:
            raise ValidationError(
                f"“{bad[0]}” is not an AWS account ID or IAM ARN. Enter 12-digit account IDs "
                "or ARNs such as arn:aws:iam::123456789012:user/sender."
            )
        return principals

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == "json":
            # The generator's inputs are ignored for a pasted policy, their errors too.
            for field in GENERATOR_FIELDS:
                self.errors.pop(field, None)
            if not (data.get("document") or "").strip():
                self.add_error("document", "Paste the policy document, a JSON object.")
            return data
        if not data.get("principals") and "principals" not in self.errors:
            self.add_error("principals", "Enter at least one AWS account ID or IAM ARN.")
        if not data.get("actions"):
            self.add_error("actions", "Choose at least one action.")
        values = _split(data.get("condition_values", ""))
        if data.get("condition_key") and not values:
            self.add_error("condition_values", "Enter the values the condition compares with.")
        if not self.errors:
            data["document"] = self.generated_document(data, values)
        return data

    def generated_document(self, data: dict[str, Any], values: list[str]) -> str:
        """The policy the generator's choices describe, on this identity's ARN only."""
        effect = data.get("effect") or "Allow"
        statement: dict[str, Any] = {
            "Sid": f"{effect}{''.join(a.split(':')[1] for a in data['actions'])}"[:100],
            "Effect": effect,
            "Principal": {"AWS": data["principals"]},
            "Action": data["actions"],
            "Resource": self.identity.arn,
        }
        if data.get("condition_key"):
            operator = data.get("condition_operator") or "StringEquals"
            statement["Condition"] = {operator: {data["condition_key"]: values}}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


class PolicyEditForm(forms.Form):
    document = forms.CharField(
        label="Policy document (JSON)",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code-input"}),
        help_text="A sending authorization policy of at most 4 KB. Saving replaces it.",
    )


def pretty(document: str) -> str:
    """The stored document indented for reading; as stored if it does not parse."""
    try:
        return json.dumps(json.loads(document), indent=2)
    except ValueError:
        return document
