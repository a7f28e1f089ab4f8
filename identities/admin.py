"""Operator admin for identities and what hangs off them.

Identities are created through the console or the API, so admin can inspect them, adjust a
few owner settings, their tags and policies, queue a DNS check and delete. Admin is a write
path like the others: every change to an identity — its form, its tag and policy inlines, its
actions, deleting it — goes through `identities.operations`, with the same rules (50 tags,
20 policies) and a history event by `admin <user>`. Tags and policies are therefore edited on
their identity's page only; their own lists are read-only.

Private keys and TSIG secrets are never shown: their columns are excluded and the TSIG secret
is a write-only form field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from accounts import actors

from . import operations, provisioning, validators
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


def _kept(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    """The inline's rows that stay after the save: filled in and not marked for deletion."""
    return [
        form
        for form in formset.forms
        if form.has_changed() or form.instance.pk
        if not _deleting(form)
    ]


def _deleting(form: forms.ModelForm) -> bool:
    return bool(form.cleaned_data.get("DELETE"))


class TagFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        # The whole set, as the console and the API check it: unique keys, 50 at most.
        pairs = [(f.cleaned_data["key"], f.cleaned_data.get("value", "")) for f in _kept(self)]
        validators.validate_tags(pairs)


class TagInline(admin.TabularInline):
    model = Tag
    form = TagForm
    formset = TagFormSet
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


class PolicyFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = _kept(self)
        if len(kept) > operations.MAX_POLICIES_PER_IDENTITY:
            raise ValidationError(
                f"An identity can have at most {operations.MAX_POLICIES_PER_IDENTITY} policies; "
                f"this would give it {len(kept)}. Delete some first."
            )
        names = [form.cleaned_data["name"] for form in kept]
        if len(set(names)) != len(names):
            raise ValidationError("Each policy of an identity needs its own name.")


class IdentityPolicyInline(admin.StackedInline):
    model = IdentityPolicy
    form = PolicyForm
    formset = PolicyFormSet
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


# Owner settings an operator may adjust, each saved through its operation.
IDENTITY_OPERATIONS: dict[str, Callable[..., object]] = {
    "dkim_signing_enabled": operations.set_dkim_signing,
    "feedback_forwarding_enabled": operations.set_feedback_forwarding,
    "configuration_set_name": operations.set_configuration_set,
}

SKIP_DNS_MESSAGE = "Marked verified without a DNS check (admin action “Mark verified (skip DNS)”)."


def _actor(request: HttpRequest) -> str:
    return actors.admin(request.user)


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
        # The form has already written the new values onto `obj`; the operations compare
        # with the stored row, so they get a fresh copy.
        identity = Identity.objects.select_related("account", "region").get(pk=obj.pk)
        for field in form.changed_data:
            IDENTITY_OPERATIONS[field](identity, form.cleaned_data[field], actor=_actor(request))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        identity = form.instance
        if isinstance(formset, TagFormSet | PolicyFormSet):
            # Saved by the operations, not formset.save(): admin's LogEntry message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if isinstance(formset, TagFormSet):
            pairs = [
                (f.cleaned_data["key"], f.cleaned_data.get("value", "")) for f in _kept(formset)
            ]
            if formset.has_changed():
                operations.set_tags(identity, pairs, actor=_actor(request))
        elif isinstance(formset, PolicyFormSet):
            self._save_policies(request, identity, formset)
        else:
            super().save_formset(request, form, formset, change)

    def _save_policies(self, request: HttpRequest, identity: Identity, formset: Any) -> None:
        actor = _actor(request)
        with transaction.atomic():
            # Deletions and renames first, so the 20-policy limit counts the final set.
            for policy_form in formset.forms:
                old_name = policy_form.instance.pk and policy_form.initial.get("name")
                renamed = old_name and "name" in policy_form.changed_data
                if old_name and (_deleting(policy_form) or renamed):
                    operations.delete_policy(identity, old_name, actor=actor)
            for policy_form in _kept(formset):
                data = policy_form.cleaned_data
                if not policy_form.instance.pk or "name" in policy_form.changed_data:
                    operations.create_policy(identity, data["name"], data["document"], actor=actor)
                elif policy_form.has_changed():
                    operations.update_policy(identity, data["name"], data["document"], actor=actor)

    def delete_model(self, request: HttpRequest, obj: Identity) -> None:
        operations.delete_identity(obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        operations.delete_identities(list(queryset), actor=_actor(request))

    @admin.action(description="Check DNS now")
    def check_dns_now(self, request: HttpRequest, queryset: IdentityQuerySet) -> None:
        # The console's "Check now": a FAILED setup restarts, the check is queued at once.
        # Domains, and email addresses with a custom MAIL FROM domain (its MX record).
        identities = list(queryset.dns_checked().select_related("account", "region"))
        queued = sum(operations.check_now(i, actor=_actor(request)) for i in identities)
        self.message_user(request, f"Queued a DNS check for {queued} identities.")

    @admin.action(description="Mark verified (skip DNS)")
    def mark_verified_skip_dns(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        identities = list(queryset)
        for identity in identities:
            operations.verify_without_dns(identity, SKIP_DNS_MESSAGE, actor=_actor(request))
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
    formset = TagFormSet
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
class TagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: tags are edited on their identity's, configuration set's or template's page,
    where the whole set's rules apply (and an identity's history records the change)."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    form = TagForm
    list_display = ["key", "value", "identity", "configuration_set", "template"]
    search_fields = ["key", "value", "identity__name", "configuration_set__name", "template__name"]
    list_select_related = ["identity", "configuration_set", "template"]
    fields = ["identity", "configuration_set", "template", "key", "value"]
    raw_id_fields = ["identity", "configuration_set", "template"]


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: policies are edited on their identity's page (operations' rules and history)."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
