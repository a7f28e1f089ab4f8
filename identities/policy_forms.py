"""Forms of the identity page's Authorization tab: a sending authorization policy from the
policy generator (statements, each with an effect, principals, actions and conditions) or
pasted as JSON, and the JSON
editor. The documents they produce are validated by the policy operations, as the API's are."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from sesconsole import validators

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


MAX_STATEMENTS = 10
MAX_CONDITIONS = 10  # per statement
# The submit buttons that change the generator's shape instead of creating the policy.
EDIT_BUTTONS = ("add_statement", "remove_statement", "add_condition", "remove_condition")


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value or "") if part]


class PolicyCreateForm(forms.Form):
    """The policy's name and how it is written; the generator's statements are
    `PolicyGenerator`'s, a pasted document is this form's."""

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
    document = forms.CharField(
        label="Policy document (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code-input"}),
        help_text="A sending authorization policy of at most 4 KB.",
    )

    def clean_name(self) -> str:
        return validators.validate_policy_name(self.cleaned_data.get("name", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == "json" and not (data.get("document") or "").strip():
            self.add_error("document", "Paste the policy document, a JSON object.")
        return data

    @property
    def uses_generator(self) -> bool:
        return self.cleaned_data.get("mode") != "json"


class StatementForm(forms.Form):
    """One statement of the generator: who (principals) may do what (actions), or may not."""

    effect = forms.ChoiceField(
        label="Effect",
        choices=[("Allow", "Allow"), ("Deny", "Deny")],
        initial="Allow",
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

    def clean_principals(self) -> list[str]:
        principals = _split(self.cleaned_data.get("principals", ""))
        bad = [p for p in principals if not PRINCIPAL.match(p)]
        if bad:
            raise ValidationError(
                f"“{bad[0]}” is not an AWS account ID or IAM ARN. Enter 12-digit account IDs "
                "or ARNs such as arn:aws:iam::123456789012:user/sender."
            )
        if not principals:
            raise ValidationError("Enter at least one AWS account ID or IAM ARN.")
        return principals

    def clean_actions(self) -> list[str]:
        actions: list[str] = self.cleaned_data.get("actions") or []
        if not actions:
            raise ValidationError("Choose at least one action.")
        return actions


class ConditionForm(forms.Form):
    """One condition of a statement; a row left on "No condition" adds nothing."""

    key = forms.ChoiceField(label="Condition key", choices=CONDITION_KEYS, required=False)
    operator = forms.ChoiceField(
        label="Condition operator", choices=CONDITION_OPERATORS, required=False
    )
    values = forms.CharField(
        label="Condition values",
        required=False,
        help_text="One or more values, separated by commas, for example *@example.com.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["values"] = _split(data.get("values", ""))
        if data.get("key") and not data["values"]:
            self.add_error("values", "Enter the values the condition compares with.")
        return data


def _count(data: Any, name: str, default: int, high: int) -> int:
    try:
        return max(0, min(int(data.get(name, default)), high))
    except (TypeError, ValueError):
        return default


class GeneratorStatement:
    """A statement's form and its conditions' forms, numbered for the page (s0, s0-c1…)."""

    def __init__(
        self, index: int, data: Any, initial: dict[str, Any] | None, conditions: list[Any]
    ) -> None:
        self.index = index
        self.prefix = f"s{index}"
        self.form = StatementForm(data, initial=initial, prefix=self.prefix)
        self.conditions = [
            ConditionForm(data, initial=row, prefix=f"{self.prefix}-c{j}")
            for j, row in enumerate(conditions)
        ]

    @property
    def number(self) -> int:
        return self.index + 1

    def is_valid(self) -> bool:
        results = [self.form.is_valid()] + [c.is_valid() for c in self.conditions]
        return all(results) and self._conditions_are_distinct()

    def _conditions_are_distinct(self) -> bool:
        # {operator: {key: values}}: the same key twice under one operator can't be written.
        seen: set[tuple[str, str]] = set()
        for condition in self.conditions:
            pair = (condition.cleaned_data["operator"], condition.cleaned_data["key"])
            if pair[1] and pair in seen:
                condition.add_error(
                    "key",
                    f"This statement already has a {pair[0]} condition on {pair[1]}. Put all "
                    "the values in that condition, separated by commas.",
                )
                return False
            seen.add(pair)
        return True

    def statement(self, resource: str) -> dict[str, Any]:
        data = self.form.cleaned_data
        statement: dict[str, Any] = {
            "Sid": f"{data['effect']}{''.join(a.split(':')[1] for a in data['actions'])}"[:90],
            "Effect": data["effect"],
            "Principal": {"AWS": data["principals"]},
            "Action": data["actions"],
            "Resource": resource,
        }
        condition: dict[str, dict[str, list[str]]] = {}
        for row in (c.cleaned_data for c in self.conditions if c.cleaned_data["key"]):
            operator = row["operator"] or "StringEquals"
            condition.setdefault(operator, {})[row["key"]] = row["values"]
        if condition:
            statement["Condition"] = condition
        return statement


class PolicyGenerator:
    """The policy generator's statements, each with its conditions, as plain posted fields so
    that it works without JavaScript: "Add statement", "Add condition" and the Remove buttons
    are submit buttons that re-render the form with one more or one fewer (`edit`), keeping
    everything typed; "Create policy" validates every statement (`is_valid`)."""

    def __init__(self, data: Any = None) -> None:
        self.data = data
        self.edited = False
        self.added: str = ""  # the prefix of a statement or condition just added, for focus
        rows = self._rows(data) if data is not None else [_blank_statement()]
        self.statements = self._forms(rows, data)
        if data is not None and any(button in data for button in EDIT_BUTTONS):
            self.edited = True
            self.statements = self._forms(self._edit(rows, data), None)
            self._focus_added()

    @staticmethod
    def _rows(data: Any) -> list[dict[str, Any]]:
        """What was posted, as plain values: the forms' initial data after an edit."""
        rows = []
        for i in range(_count(data, "statements", 1, MAX_STATEMENTS) or 1):
            p = f"s{i}"
            conditions = [
                {
                    "key": data.get(f"{p}-c{j}-key", ""),
                    "operator": data.get(f"{p}-c{j}-operator", ""),
                    "values": data.get(f"{p}-c{j}-values", ""),
                }
                for j in range(_count(data, f"{p}-conditions", 0, MAX_CONDITIONS))
            ]
            rows.append(
                {
                    "effect": data.get(f"{p}-effect") or "Allow",
                    "principals": data.get(f"{p}-principals", ""),
                    "actions": data.getlist(f"{p}-actions"),
                    "conditions": conditions,
                }
            )
        return rows

    def _edit(self, rows: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
        def position(name: str) -> list[int]:
            return [int(n) for n in re.findall(r"\d+", data.get(name, ""))]

        if "add_statement" in data and len(rows) < MAX_STATEMENTS:
            rows.append(_blank_statement())
            self.added = f"s{len(rows) - 1}"
        elif "remove_statement" in data and len(rows) > 1:
            (i,) = position("remove_statement")[:1] or [len(rows) - 1]
            del rows[min(i, len(rows) - 1)]
        elif "add_condition" in data:
            (i,) = position("add_condition")[:1] or [0]
            conditions = rows[min(i, len(rows) - 1)]["conditions"]
            if len(conditions) < MAX_CONDITIONS:
                conditions.append({"key": "", "operator": "", "values": ""})
                self.added = f"s{min(i, len(rows) - 1)}-c{len(conditions) - 1}"
        elif "remove_condition" in data:
            i, j = [*position("remove_condition"), 0, 0][:2]
            conditions = rows[min(i, len(rows) - 1)]["conditions"]
            if j < len(conditions):
                del conditions[j]
        return rows

    @staticmethod
    def _forms(rows: list[dict[str, Any]], data: Any) -> list[GeneratorStatement]:
        """Bound to the POST (to validate it), or unbound showing `rows` (a GET, an edit)."""
        return [
            GeneratorStatement(i, data, None if data is not None else row, row["conditions"])
            for i, row in enumerate(rows)
        ]

    def _focus_added(self) -> None:
        # The page comes back (or htmx swaps the section) with the new row's first input
        # focused, so a keyboard user goes on typing where they added.
        for statement in self.statements:
            if statement.prefix == self.added:
                statement.form.fields["principals"].widget.attrs["autofocus"] = True
            for condition in statement.conditions:
                if condition.prefix == self.added:
                    condition.fields["key"].widget.attrs["autofocus"] = True

    def is_valid(self) -> bool:
        results = [s.is_valid() for s in self.statements]  # every statement's errors at once
        return not self.edited and all(results)

    def document(self, resource: str) -> str:
        """The policy the statements describe, on this identity's ARN only (call after
        `is_valid`)."""
        statements = [s.statement(resource) for s in self.statements]
        for i, statement in enumerate(statements):
            if [s["Sid"] for s in statements].count(statement["Sid"]) > 1:
                statement["Sid"] += str(i + 1)  # Sids are unique within a policy
        return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def _blank_statement() -> dict[str, Any]:
    return {
        "effect": "Allow",
        "principals": "",
        "actions": ["ses:SendEmail", "ses:SendRawEmail"],
        "conditions": [{"key": "", "operator": "", "values": ""}],
    }


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
