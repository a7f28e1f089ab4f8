"""Deletes in the console, one way for every resource: the user types the resource's name (or,
for several at once, the word "delete", as the SES console asks) before its Delete button does
anything.

With JavaScript the confirmation opens in the page's dialog (the Delete link or form carries
`hx-get`/`hx-post` into `#console-dialog-body`, see `templates/_delete_trigger.html`); without
it the same URL is a page of its own. Either way the server checks the typed text. After the
delete, views answer with `htmx_responses.redirect_after_post`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .htmx_responses import partial_wanted

CONFIRM_TEMPLATE = "confirm_delete.html"
BULK_DELETE_WORD = "delete"


class ConfirmNameForm(forms.Form):
    """The typed confirmation. The expected text is also in the input's data-expected:
    console.js keeps the Delete button disabled until it matches."""

    confirm = forms.CharField(
        label="To confirm deletion, enter the name", required=False, strip=False
    )

    def __init__(
        self, *args: Any, expected: str, noun: str = "name", target: str = "it", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.noun = noun
        self.target = target
        self.fields["confirm"].label = f"To confirm deletion, enter {expected}"
        self.fields["confirm"].widget.attrs.update(
            {"data-expected": expected, "autocomplete": "off", "spellcheck": "false"}
        )

    def clean_confirm(self) -> str:
        value = self.cleaned_data.get("confirm", "")
        if value != self.expected:
            raise ValidationError(
                f"The {self.noun} you entered doesn't match. Enter {self.expected} exactly as "
                f"shown to delete {self.target}."
            )
        return value


def bulk_delete_form(data: Any = None) -> ConfirmNameForm:
    """The typed confirmation of a bulk delete: the word "delete"."""
    return ConfirmNameForm(data, expected=BULK_DELETE_WORD, noun="text", target="them")


def confirm_form(request: HttpRequest, expected: str) -> ConfirmNameForm:
    """The confirmation bound to a POST, unbound (just shown) for a GET."""
    return ConfirmNameForm(request.POST if request.method == "POST" else None, expected=expected)


def confirm_page(
    request: HttpRequest,
    form: ConfirmNameForm,
    *,
    title: str,
    heading: str,
    warning: str,
    cancel_url: str,
    crumbs: str,
    **context: Any,
) -> HttpResponse:
    """The confirmation: the whole page, or (htmx: the dialog, or an error in it) its form.

    `crumbs` is the breadcrumbs template of the resource's section; `details` (optional) a
    template shown above the typed confirmation; `submit` the button's label. The form posts
    back to the URL that showed it, the dialog's and the page's alike."""
    template = f"{CONFIRM_TEMPLATE}#confirm" if partial_wanted(request) else CONFIRM_TEMPLATE
    context.update(
        form=form,
        title=title,
        heading=heading,
        warning=warning,
        form_url=request.path,
        cancel_url=cancel_url,
        crumbs=crumbs,
    )
    return render(request, template, context)
