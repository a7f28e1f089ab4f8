"""The form for registering an RFC 2136 DNS server (console "DNS servers" page)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Account
from sesconsole import listing
from sesconsole.validators import validate_dns_name

from .dns_destinations import DestinationRefused, Destinations
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
            "server": "Public IP address or host name of the primary that accepts dynamic "
            "updates (over TCP, port 53).",
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_zone(self) -> str:
        raw = self.cleaned_data["zone"].strip()
        zone = "." if raw == "." else validate_dns_name(raw, what="zone name").lower()
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

    def clean_key_name(self) -> str:
        return validate_dns_name(self.cleaned_data["key_name"], what="TSIG key name")

    def clean(self) -> dict[str, Any]:
        """The server must be somewhere sesconsole may connect for an account
        (identities.dns_destinations); checked again before every connection."""
        cleaned = super().clean() or {}
        server, port = cleaned.get("server"), cleaned.get("port")
        if server and port:
            destinations = Destinations.from_settings()
            try:
                destinations.check_port(port)
            except DestinationRefused as exc:
                self.add_error("port", ValidationError(str(exc), code="port"))
                return cleaned
            try:
                destinations.resolve(server, port)
            except DestinationRefused as exc:
                self.add_error("server", ValidationError(str(exc), code="address"))
        return cleaned

    def save(self, commit: bool = True) -> DnsServer:
        server = super().save(commit=False)
        server.account = self.account
        server.set_secret(self.cleaned_data["tsig_secret"])
        if commit:
            server.save()
        return server


class DnsServerFilterForm(listing.ListFilterForm):
    q = forms.CharField(label="Find zones", required=False, max_length=320)
