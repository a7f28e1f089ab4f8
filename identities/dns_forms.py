"""The form for registering an RFC 2136 DNS server (console "DNS servers" page)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dns.exception
import dns.name
from django import forms

from accounts.models import Account

from .models import DnsServer


class DnsServerForm(forms.ModelForm):
    # Declared here: a model form's field range cannot be set after it is built.
    port = forms.IntegerField(min_value=1, max_value=65535, initial=53)
    tsig_secret = forms.CharField(
        label="TSIG secret",
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Base64, as in the server's key file. Stored encrypted and never shown again.",
    )

    class Meta:
        model = DnsServer
        fields = ["zone", "server", "port", "key_name", "key_algorithm"]
        labels = {"key_name": "TSIG key name", "key_algorithm": "TSIG algorithm"}
        help_texts = {
            "zone": "The zone the server is primary for, e.g. example.com. Records are sent to "
            "the server whose zone is the closest match.",
            "server": "IP address or host name of the primary that accepts dynamic updates.",
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_zone(self) -> str:
        zone = self.cleaned_data["zone"].strip().rstrip(".").lower()
        try:
            dns.name.from_text(zone or ".")
        except (dns.exception.DNSException, ValueError) as exc:
            raise forms.ValidationError(
                f"Enter a DNS zone name such as example.com ({exc})."
            ) from None
        zone = zone or "."
        if DnsServer.objects.filter(account=self.account, zone=zone).exists():
            raise forms.ValidationError(
                f"A DNS server is already registered for {zone}. Delete it first to replace it."
            )
        return zone

    def clean_tsig_secret(self) -> str:
        secret = self.cleaned_data["tsig_secret"]
        try:
            base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(
                "Enter the TSIG secret in base64, exactly as in the server's key file."
            ) from None
        return secret

    def save(self, commit: bool = True) -> DnsServer:
        server = super().save(commit=False)
        server.account = self.account
        server.set_secret(self.cleaned_data["tsig_secret"])
        if commit:
            server.save()
        return server
