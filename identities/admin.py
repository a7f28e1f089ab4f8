"""Operator admin for identities and what hangs off them.

Identities are created through the console or the API (provisioning.create_identity), so
admin can inspect, adjust a few owner settings through the model's setters, queue a DNS
check and delete. Private keys and TSIG secrets are never shown: their columns are excluded
and the TSIG secret is a write-only form field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from sesconsole import validators

from . import provisioning
from .dns_views import SKIP_DNS_MESSAGE, queue_check_now
from .models import (
    ConfigurationSet,
    DkimKey,
    DnsServer,
    Identity,
    IdentityEvent,
    IdentityPolicy,
    IdentityQuerySet,
    RecordCheck,
    Tag,
)


class ReadOnlyAdminMixin:
    """For rows only the system writes (DNS check results, history): view and delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["key", "value"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "key" in cleaned:
            validators.validate_tag(cleaned["key"], cleaned.get("value", ""))
        return cleaned


class TagInline(admin.TabularInline):
    model = Tag
    form = TagForm
    extra = 0
    fields = ["key", "value"]


class PolicyForm(forms.ModelForm):
    class Meta:
        model = IdentityPolicy
        fields = ["name", "document"]

    def clean_name(self) -> str:
        return validators.validate_policy_name(self.cleaned_data["name"])

    def clean_document(self) -> str:
        return validators.validate_policy_document(self.cleaned_data["document"])


class IdentityPolicyInline(admin.StackedInline):
    model = IdentityPolicy
    form = PolicyForm
    extra = 0


class DkimKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DkimKey
    extra = 0
    fields = readonly_fields = ("selector", "key_size", "created_at")
    can_delete = False


class RecordCheckInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RecordCheck
    extra = 0
    fields = readonly_fields = (
        "purpose",
        "record_type",
        "name",
        "status",
        "error",
        "diagnosis",
        "checked_at",
    )
    can_delete = False


class IdentityEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IdentityEvent
    extra = 0
    fields = readonly_fields = ("at", "kind", "message", "actor")
    can_delete = False


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["dkim_signing_enabled", "feedback_forwarding_enabled", "configuration_set_name"]

    def clean_configuration_set_name(self) -> str:
        name = self.cleaned_data["configuration_set_name"]
        provisioning.check_configuration_set_exists(
            self.instance.account, self.instance.region, name
        )
        return name


# Owner settings an operator may adjust, each saved through the model's own setter.
IDENTITY_SETTERS: dict[str, Callable[[Identity, Any], None]] = {
    "dkim_signing_enabled": Identity.set_dkim_signing,
    "feedback_forwarding_enabled": Identity.set_feedback_forwarding,
    "configuration_set_name": Identity.set_configuration_set,
}


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    form = IdentityForm
    list_display = [
        "name",
        "identity_type",
        "verification_status",
        "dkim_status",
        "mail_from_status",
        "account",
        "region",
        "created_at",
    ]
    list_filter = ["region", "identity_type", "verification_status", "dkim_status"]
    search_fields = ["name", "account__id"]
    list_select_related = ["account", "region"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "account",
        "region",
        "identity_type",
        "name",
        "arn",
        "created_at",
        "verification_status",
        "verification_status_changed_at",
        "verified_at",
        "last_checked_at",
        "last_success_at",
        "verification_error",
        "soa_primary_name_server",
        "soa_admin_email",
        "soa_serial_number",
        "dkim_origin",
        "dkim_status",
        "dkim_status_changed_at",
        "dkim_tokens",
        "dkim_next_key_length",
        "dkim_current_key_length",
        "dkim_last_key_generation_at",
        "dkim_key_length_changed_at",
        "mail_from_domain",
        "mail_from_behavior",
        "mail_from_status",
        "mail_from_status_changed_at",
        "next_check_at",
        "check_lease_until",
        "check_count",
    ]
    fieldsets = [
        (None, {"fields": ["account", "region", "identity_type", "name", "arn", "created_at"]}),
        (
            "Verification",
            {
                "fields": [
                    "verification_status",
                    "verification_status_changed_at",
                    "verified_at",
                    "last_checked_at",
                    "last_success_at",
                    "verification_error",
                    "soa_primary_name_server",
                    "soa_admin_email",
                    "soa_serial_number",
                ]
            },
        ),
        (
            "DKIM",
            {
                "fields": [
                    "dkim_signing_enabled",
                    "dkim_origin",
                    "dkim_status",
                    "dkim_status_changed_at",
                    "dkim_tokens",
                    "dkim_next_key_length",
                    "dkim_current_key_length",
                    "dkim_last_key_generation_at",
                    "dkim_key_length_changed_at",
                ]
            },
        ),
        (
            "Custom MAIL FROM",
            {
                "fields": [
                    "mail_from_domain",
                    "mail_from_behavior",
                    "mail_from_status",
                    "mail_from_status_changed_at",
                ]
            },
        ),
        ("Settings", {"fields": ["feedback_forwarding_enabled", "configuration_set_name"]}),
        ("DNS check scheduling", {"fields": ["next_check_at", "check_lease_until", "check_count"]}),
    ]
    inlines = [
        TagInline,
        IdentityPolicyInline,
        DkimKeyInline,
        RecordCheckInline,
        IdentityEventInline,
    ]
    actions = ["check_dns_now", "mark_verified_skip_dns"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New identities go through provisioning (limits, tokens, keys, first check).
        return False

    def save_model(self, request: HttpRequest, obj: Identity, form: Any, change: bool) -> None:
        for field in form.changed_data:
            IDENTITY_SETTERS[field](obj, form.cleaned_data[field])

    @admin.action(description="Check DNS now")
    def check_dns_now(self, request: HttpRequest, queryset: IdentityQuerySet) -> None:
        # The console's "Check now": a FAILED setup restarts, the check is queued at once.
        domains = list(queryset.domains())
        for identity in domains:
            identity.request_check_now(actor=request.user.get_username())
            queue_check_now(identity)
        self.message_user(request, f"Queued a DNS check for {len(domains)} domain identities.")

    @admin.action(description="Mark verified (skip DNS)")
    def mark_verified_skip_dns(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        identities = list(queryset)
        for identity in identities:
            identity.verify_without_dns(SKIP_DNS_MESSAGE, actor=request.user.get_username())
        self.message_user(request, f"Marked {len(identities)} identities verified without DNS.")


@admin.register(DkimKey)
class DkimKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["selector", "identity", "key_size", "created_at"]
    list_filter = ["key_size"]
    search_fields = ["selector", "identity__name", "identity__account__id"]
    list_select_related = ["identity"]
    exclude = ["private_key_encrypted"]
    # Easy DKIM keys come from the key task, BYODKIM keys from the identity's owner.
    fields = readonly_fields = ("identity", "selector", "key_size", "public_key", "created_at")


class ConfigurationSetForm(forms.ModelForm):
    class Meta:
        model = ConfigurationSet
        fields = ["account", "region", "name", "sending_enabled", "options"]

    def clean_name(self) -> str:
        return validators.validate_configuration_set_name(self.cleaned_data["name"])


class ConfigurationSetTagInline(admin.TabularInline):
    model = Tag
    fk_name = "configuration_set"
    form = TagForm
    extra = 0
    fields = ["key", "value"]


@admin.register(ConfigurationSet)
class ConfigurationSetAdmin(admin.ModelAdmin):
    form = ConfigurationSetForm
    list_display = ["name", "account", "region", "sending_enabled", "created_at"]
    list_filter = ["region", "sending_enabled"]
    search_fields = ["name", "account__id", "account__name"]
    list_select_related = ["account", "region"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]
    inlines = [ConfigurationSetTagInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagForm
    list_display = ["key", "value", "identity", "configuration_set", "template"]
    search_fields = ["key", "value", "identity__name", "configuration_set__name", "template__name"]
    list_select_related = ["identity", "configuration_set", "template"]
    fields = ["identity", "configuration_set", "template", "key", "value"]
    raw_id_fields = ["identity", "configuration_set", "template"]


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ["name", "identity", "updated_at"]
    search_fields = ["name", "identity__name", "identity__account__id"]
    list_select_related = ["identity"]
    raw_id_fields = ["identity"]
    fields = ["identity", "name", "document", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(RecordCheck)
class RecordCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "record_type",
        "purpose",
        "status",
        "error",
        "diagnosis",
        "identity",
        "checked_at",
    ]
    list_filter = ["status", "error", "record_type", "purpose"]
    search_fields = ["name", "identity__name", "identity__account__id"]
    list_select_related = ["identity"]


@admin.register(IdentityEvent)
class IdentityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "identity", "kind", "message", "actor"]
    list_filter = ["kind"]
    search_fields = ["identity__name", "identity__account__id", "message", "actor"]
    list_select_related = ["identity"]
    date_hierarchy = "at"


class DnsServerForm(forms.ModelForm):
    tsig_secret = forms.CharField(
        label="TSIG secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Base64, as in the server's key file. Write-only: leave blank to keep the "
        "stored secret.",
    )

    class Meta:
        model = DnsServer
        fields = ["account", "zone", "server", "port", "key_name", "key_algorithm"]

    def clean_tsig_secret(self) -> str:
        secret = self.cleaned_data["tsig_secret"]
        if not secret and not self.instance.key_secret_encrypted:
            raise ValidationError("Enter the TSIG secret the server shares with sesconsole.")
        return secret


@admin.register(DnsServer)
class DnsServerAdmin(admin.ModelAdmin):
    form = DnsServerForm
    list_display = ["zone", "server", "port", "key_name", "key_algorithm", "account", "created_at"]
    list_filter = ["key_algorithm"]
    search_fields = ["zone", "server", "key_name", "account__id"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]

    def save_model(self, request: HttpRequest, obj: DnsServer, form: Any, change: bool) -> None:
        if form.cleaned_data["tsig_secret"]:
            obj.set_secret(form.cleaned_data["tsig_secret"])
        super().save_model(request, obj, form, change)
