"""Console forms for identities and configuration sets.

Every rule comes from sesconsole/validators.py (or the provisioning checks that need the
database): the forms only bind the browser's input to those functions and put each message
next to the field it is about. Nothing here decides what is valid on its own.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.access import Scope
from sesconsole import listing, validators

from . import provisioning, publishing
from .models import (
    BehaviorOnMxFailure,
    ConfigurationSet,
    DkimOrigin,
    Identity,
    IdentityType,
    KeyLength,
    VerificationStatus,
)

INVALID_INPUT_PREFIX = "The input you provided is invalid: "


def _first_message(exc: ValidationError) -> str:
    return exc.messages[0]


# --- Tags: rows of Key/Value inputs named tag_key / tag_value ---------------------------------
@dataclass(frozen=True)
class TagRow:
    index: int
    key: str
    value: str


class TagRowsWidget(forms.Widget):
    """Reads the parallel tag_key/tag_value lists; the template draws the rows itself."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[tuple[str, str]]:
        keys = data.getlist("tag_key") if hasattr(data, "getlist") else []
        values = data.getlist("tag_value") if hasattr(data, "getlist") else []
        values = values + [""] * (len(keys) - len(values))
        return list(zip(keys, values, strict=False))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class TagRowsField(forms.Field):
    widget = TagRowsWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[validators.TagPair]:
        # A row left completely empty is a row the user did not fill in, not an empty key.
        pairs = [
            (key.strip(), val.strip()) for key, val in value or [] if key.strip() or val.strip()
        ]
        return validators.validate_tags(pairs)


class TagRowsMixin:
    """Add/Remove tag rows without JavaScript: the buttons submit, the page comes back with
    one row more or less and everything else the user typed still in place."""

    data: Any
    is_bound: bool
    initial: MutableMapping[str, Any]

    @property
    def row_action(self) -> bool:
        return self.is_bound and ("add_tag" in self.data or "remove_tag" in self.data)

    @property
    def tag_rows(self) -> list[TagRow]:
        if self.is_bound:
            pairs = TagRowsWidget().value_from_datadict(self.data, None, "tags")
            remove = self.data.get("remove_tag")
            # isdigit() is also true for "²" or "٣", which int() refuses: ASCII digits only.
            if (
                remove is not None
                and remove.isascii()
                and remove.isdigit()
                and int(remove) < len(pairs)
            ):
                del pairs[int(remove)]
            if "add_tag" in self.data and len(pairs) < validators.MAX_TAGS:
                pairs.append(("", ""))
        else:
            pairs = list(self.initial.get("tags") or [])
        if not pairs:
            pairs = [("", "")]
        return [TagRow(i, key, value) for i, (key, value) in enumerate(pairs)]

    @property
    def max_tags(self) -> int:
        return validators.MAX_TAGS


class RowAwareForm(TagRowsMixin, forms.Form):
    """A form that is not validated while the user is only adding or removing tag rows."""

    def full_clean(self) -> None:
        if self.row_action:
            self._errors = forms.utils.ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def is_valid(self) -> bool:
        return not self.row_action and super().is_valid()


def _configuration_set_choices(scope: Scope) -> list[tuple[str, str]]:
    names = ConfigurationSet.objects.filter(account=scope.account, region=scope.region).values_list(
        "name", flat=True
    )
    return [("", "Choose a configuration set")] + [(name, name) for name in names]


class WriteOnlyTextarea(forms.Textarea):
    """A textarea for a private key: a page shown again (an error, an added tag row) never sends
    the pasted key back to the browser, where caches and the back button would keep it. Like
    PasswordInput(render_value=False); the placeholder says why the box is empty.

    With JavaScript the user loses nothing all the same: the form is swapped by htmx, and
    `hx-preserve` keeps this element, with what was pasted, from the page being replaced."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"hx-preserve": "true", **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, None, attrs)
        if value:
            context["widget"]["attrs"]["placeholder"] = (
                "Paste the private key again: a key you submitted is never shown back."
            )
        return context


# --- Create identity ----------------------------------------------------------------------------
class DefaultedChoiceField(forms.ChoiceField):
    """A radio group whose omission means its SES default (browsers always send the checked
    radio; scripted clients may leave it out)."""

    def __init__(self, *, initial: str, **kwargs: Any) -> None:
        super().__init__(initial=initial, required=False, widget=forms.RadioSelect, **kwargs)
        self.error_messages["invalid_choice"] = (
            "“%(value)s” is not one of the options. Choose one of the options listed."
        )

    def clean(self, value: Any) -> str:
        return super().clean(value) or str(self.initial)


class IdentityCreateForm(RowAwareForm):
    identity_type = forms.ChoiceField(
        label="Identity type",
        choices=[(IdentityType.DOMAIN, "Domain"), (IdentityType.EMAIL_ADDRESS, "Email address")],
        initial=IdentityType.DOMAIN,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the identity type: Domain or Email address.",
            "invalid_choice": "Choose the identity type: Domain or Email address.",
        },
    )
    domain = forms.CharField(
        label="Domain",
        required=False,
        max_length=400,
        help_text="Enter the domain you own, for example example.com — not www.example.com.",
    )
    email = forms.CharField(
        label="Email address",
        required=False,
        max_length=400,
        help_text="The address you want to send from. Addresses are case-sensitive.",
    )
    confirm_www = forms.BooleanField(label="", required=False)
    assign_configuration_set = forms.BooleanField(
        label="Assign a default configuration set", required=False
    )
    configuration_set = forms.CharField(
        label="Default configuration set",
        required=False,
        widget=forms.Select,
        help_text="Used when a message is sent from this identity without naming a "
        "configuration set.",
    )
    use_mail_from = forms.BooleanField(label="Use a custom MAIL FROM domain", required=False)
    mail_from_domain = forms.CharField(
        label="MAIL FROM domain",
        required=False,
        max_length=400,
        help_text="A subdomain of the identity that is used for no other sending or "
        "receiving, for example mail.example.com.",
    )
    mail_from_behavior = DefaultedChoiceField(
        label="Behavior on MX failure",
        choices=BehaviorOnMxFailure.choices,
        initial=BehaviorOnMxFailure.USE_DEFAULT_VALUE,
    )
    dkim_type = DefaultedChoiceField(
        label="DKIM identity type",
        choices=[
            (DkimOrigin.AWS_SES, "Easy DKIM"),
            (DkimOrigin.EXTERNAL, "Provide DKIM authentication token (BYODKIM)"),
        ],
        initial=DkimOrigin.AWS_SES,
    )
    key_length = DefaultedChoiceField(
        label="DKIM signing key length",
        choices=KeyLength.choices,
        initial=KeyLength.RSA_2048_BIT,
    )
    private_key = forms.CharField(
        label="Private key",
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text="An RSA key of 1024 to 2048 bits, base64-encoded. BEGIN/END lines and line "
        "breaks are removed for you.",
    )
    selector = forms.CharField(
        label="Selector name",
        required=False,
        max_length=100,
        help_text="The name you published the public key under: <selector>._domainkey.<domain>.",
    )
    dkim_signing_enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    publish_records = forms.BooleanField(
        label="Publish DNS records to my DNS server", required=False
    )
    tags = TagRowsField(label="Tags")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["configuration_set"].widget.choices = _configuration_set_choices(scope)
        self.fields["publish_records"].help_text = format_html(
            "Right after creation, send the identity's DNS records by RFC 2136 to the server "
            'you registered for the domain\'s zone on the <a href="{}">DNS servers</a> page. '
            "Records that exist with another value are left alone; the outcome is shown in "
            "the identity's history.",
            reverse("identities:dns_servers"),
        )
        self.www_warning: str | None = None
        self.parsed_key: validators.ParsedPrivateKey | None = None

    @property
    def is_domain(self) -> bool:
        return self.cleaned_data.get("identity_type") != IdentityType.EMAIL_ADDRESS

    def clean_configuration_set(self) -> str:
        name = self.cleaned_data.get("configuration_set", "")
        if not self.cleaned_data.get("assign_configuration_set"):
            return ""
        if not name:
            raise ValidationError(
                "Choose a configuration set, or clear “Assign a default configuration set”."
            )
        provisioning.check_configuration_set_exists(self.scope.account, self.scope.region, name)
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "identity_type" not in data:
            return data
        if self.is_domain:
            self._clean_domain(data)
        else:
            # Domain-only sections may still hold input when the page ran without
            # JavaScript; an email identity ignores them, as SES does.
            self._clean_field("email", validators.normalize_email, data)
        return data

    def _clean_field(self, field: str, func: Any, data: dict[str, Any], *args: Any) -> Any:
        try:
            data[field] = func(data.get(field, ""), *args)
        except ValidationError as exc:
            self.add_error(field, _first_message(exc))
            return None
        return data[field]

    def _clean_domain(self, data: dict[str, Any]) -> None:
        domain = self._clean_field("domain", validators.normalize_domain, data)
        if domain:
            self.www_warning = validators.www_warning(domain)
            if self.www_warning and not data.get("confirm_www"):
                self.add_error("confirm_www", self.www_warning)
        if data.get("use_mail_from") and domain:
            self._clean_field(
                "mail_from_domain", validators.normalize_mail_from_domain, data, domain
            )
        if data.get("dkim_type") == DkimOrigin.EXTERNAL:
            self._clean_field("selector", validators.validate_selector, data)
            self.parsed_key = self._clean_field(
                "private_key", validators.parse_byodkim_private_key, data
            )
        wants_publishing = data.get("publish_records") and domain
        if wants_publishing and publishing.server_for(self.scope.account, domain) is None:
            self.add_error(
                "publish_records",
                f"No DNS server is registered for a zone containing {domain}. Add one on "
                "the DNS servers page, or clear “Publish DNS records to my DNS server”.",
            )

    def new_identity(self) -> provisioning.NewIdentity:
        data = self.cleaned_data
        common = {"configuration_set_name": data["configuration_set"], "tags": data["tags"]}
        if not self.is_domain:
            return provisioning.NewIdentity(IdentityType.EMAIL_ADDRESS, data["email"], **common)
        dkim: provisioning.EasyDkim | provisioning.Byodkim
        if self.parsed_key is not None:
            dkim = provisioning.Byodkim(selector=data["selector"], key=self.parsed_key)
        else:
            dkim = provisioning.EasyDkim(key_length=data["key_length"])
        use_mail_from = data.get("use_mail_from")
        return provisioning.NewIdentity(
            IdentityType.DOMAIN,
            data["domain"],
            dkim=dkim,
            dkim_signing_enabled=data["dkim_signing_enabled"],
            mail_from_domain=data["mail_from_domain"] if use_mail_from else "",
            mail_from_behavior=data["mail_from_behavior"],
            publish_records=data["publish_records"],
            **common,
        )

    def add_provisioning_error(self, exc: ValidationError) -> None:
        """Put an error from operations.create_identity next to the field it concerns."""
        if isinstance(exc, validators.AlreadyExistsError):
            self.add_error("domain" if self.is_domain else "email", _first_message(exc))
        elif isinstance(exc, validators.NotFoundError):
            self.add_error("configuration_set", _first_message(exc))
        else:
            self.add_error(None, _first_message(exc))

    @property
    def key_was_cleaned(self) -> bool:
        return self.parsed_key is not None and self.parsed_key.cleaned


# --- Identity edit forms ----------------------------------------------------------------------------
class DkimSigningForm(forms.Form):
    """Email identities only override whether DKIM signing is on."""

    dkim_signing_enabled = forms.BooleanField(label="Enabled", required=False)

    def __init__(self, *args: Any, identity: Identity, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"dkim_signing_enabled": identity.dkim_signing_enabled})
        super().__init__(*args, **kwargs)
        self.identity = identity
        self.parsed_key: validators.ParsedPrivateKey | None = None


class DomainDkimForm(DkimSigningForm):
    dkim_type = IdentityCreateForm.base_fields["dkim_type"]
    key_length = IdentityCreateForm.base_fields["key_length"]
    selector = IdentityCreateForm.base_fields["selector"]
    private_key = forms.CharField(
        label="Private key",
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Paste a new key to switch to BYODKIM or to replace the current one. The "
        "stored key is never shown.",
    )

    def __init__(
        self, *args: Any, identity: Identity, now: datetime | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial",
            {
                "dkim_signing_enabled": identity.dkim_signing_enabled,
                "dkim_type": identity.dkim_origin,
                "key_length": identity.dkim_next_key_length,
                "selector": identity.dkim_tokens[0] if identity.uses_byodkim else "",
            },
        )
        super().__init__(*args, identity=identity, **kwargs)
        self.now = now or timezone.now()

    @property
    def switches_to_easy_dkim(self) -> bool:
        return self.cleaned_data["dkim_type"] == DkimOrigin.AWS_SES and self.identity.uses_byodkim

    @property
    def new_key_length(self) -> str | None:
        """The Easy DKIM key length to change to, or None when it stays as it is."""
        data = self.cleaned_data
        if data["dkim_type"] != DkimOrigin.AWS_SES or self.identity.uses_byodkim:
            return None
        length = data.get("key_length")  # absent when the posted choice was invalid
        return None if not length or length == self.identity.dkim_next_key_length else length

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("dkim_type") == DkimOrigin.EXTERNAL:
            self._clean_byodkim(data)
        elif data.get("dkim_type") == DkimOrigin.AWS_SES and self.new_key_length:
            problem = self.identity.key_length_change_problem(self.new_key_length, self.now)
            if problem:
                self.add_error(None, INVALID_INPUT_PREFIX + problem)
        return data

    def _clean_byodkim(self, data: dict[str, Any]) -> None:
        try:
            data["selector"] = validators.validate_selector(data.get("selector", ""))
        except ValidationError as exc:
            self.add_error("selector", _first_message(exc))
        unchanged_selector = (
            self.identity.uses_byodkim and data.get("selector") == (self.identity.dkim_tokens[0])
        )
        if unchanged_selector and not data.get("private_key", "").strip():
            return  # keep the stored key: only the signing switch may have changed
        try:
            self.parsed_key = validators.parse_byodkim_private_key(data.get("private_key", ""))
        except ValidationError as exc:
            self.add_error("private_key", _first_message(exc))


class MailFromForm(forms.Form):
    use_mail_from = IdentityCreateForm.base_fields["use_mail_from"]
    mail_from_domain = IdentityCreateForm.base_fields["mail_from_domain"]
    mail_from_behavior = IdentityCreateForm.base_fields["mail_from_behavior"]

    def __init__(self, *args: Any, identity: Identity, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "use_mail_from": identity.has_custom_mail_from,
                "mail_from_domain": identity.mail_from_domain,
                "mail_from_behavior": identity.mail_from_behavior,
            },
        )
        super().__init__(*args, **kwargs)
        self.identity = identity

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("use_mail_from"):
            data["mail_from_domain"] = ""
            return data
        try:
            data["mail_from_domain"] = validators.normalize_mail_from_domain(
                data.get("mail_from_domain", ""), self.identity.domain
            )
        except ValidationError as exc:
            self.add_error("mail_from_domain", _first_message(exc))
        return data


class ConfigurationSetChoiceForm(forms.Form):
    configuration_set = forms.CharField(
        label="Default configuration set",
        required=False,
        widget=forms.Select,
        help_text="Choose None to send without a default configuration set.",
    )

    def __init__(self, *args: Any, identity: Identity, scope: Scope, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"configuration_set": identity.configuration_set_name})
        super().__init__(*args, **kwargs)
        self.scope = scope
        choices = _configuration_set_choices(scope)
        choices[0] = ("", "None")
        current = identity.configuration_set_name
        if current and (current, current) not in choices:
            # A dangling default (its set was deleted) stays visible until it is replaced.
            choices.append((current, f"{current} (deleted)"))
        self.fields["configuration_set"].widget.choices = choices

    def clean_configuration_set(self) -> str:
        name = self.cleaned_data.get("configuration_set", "")
        provisioning.check_configuration_set_exists(self.scope.account, self.scope.region, name)
        return name


class TagsForm(RowAwareForm):
    """The tags of any taggable resource (identity, custom verification template): its
    `tags` relation gives the rows to start from."""

    tags = TagRowsField(label="Tags")

    def __init__(self, *args: Any, tagged: Identity | Any, **kwargs: Any) -> None:
        tags = [(tag.key, tag.value) for tag in tagged.tags.all()]
        kwargs.setdefault("initial", {"tags": tags})
        super().__init__(*args, **kwargs)


class FeedbackForwardingForm(forms.Form):
    feedback_forwarding_enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        help_text="Forward bounce and complaint notifications to the message's Return-Path "
        "or sender by email.",
    )

    def __init__(self, *args: Any, identity: Identity, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"feedback_forwarding_enabled": identity.feedback_forwarding_enabled}
        )
        super().__init__(*args, **kwargs)


# --- List filters and configuration sets ----------------------------------------------------------
SORTS = {"name", "-name", "status", "-status"}


class IdentityFilterForm(listing.ListFilterForm):
    q = forms.CharField(label="Find identities", required=False, max_length=320)
    type = forms.ChoiceField(
        label="Identity type",
        required=False,
        choices=[("", "Any type"), *IdentityType.choices],
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *VerificationStatus.choices]
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_sort(self) -> str:
        sort = self.cleaned_data.get("sort") or "name"
        return sort if sort in SORTS else "name"


class ConfigurationSetFilterForm(listing.ListFilterForm):
    q = forms.CharField(label="Find configuration sets", required=False, max_length=320)


class ConfigurationSetCreateForm(forms.Form):
    name = forms.CharField(
        label="Configuration set name",
        max_length=200,
        required=False,
        help_text="Up to 64 letters, digits, underscores and hyphens.",
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope

    def clean_name(self) -> str:
        name = validators.validate_configuration_set_name(self.cleaned_data.get("name", ""))
        exists = ConfigurationSet.objects.filter(
            account=self.scope.account, region=self.scope.region, name=name
        ).exists()
        if exists:
            raise validators.AlreadyExistsError(already_exists_message(name, self.scope))
        return name


def already_exists_message(name: str, scope: Scope) -> str:
    return (
        f"A configuration set named {name} already exists in {scope.region.code}. "
        "Choose another name."
    )
