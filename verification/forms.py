from __future__ import annotations

from django import forms


class WhichIdentityForm(forms.Form):
    address = forms.CharField(
        label="Sender address",
        max_length=320,
        help_text="The From address you want to send from, for example sender+news@example.com.",
        widget=forms.TextInput(attrs={"placeholder": "sender@example.com", "autocomplete": "off"}),
    )

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip()
        if "@" not in address:
            raise forms.ValidationError(
                "Enter a full email address with an @, for example sender@example.com: the "
                "answer depends on the local part as well as the domain."
            )
        return address
