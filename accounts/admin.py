"""Operator admin for accounts, regions, production access and API keys.

Secrets never appear: access-key secrets are excluded everywhere and shown once, in the
message that follows the "Create access key" action. State changes go through model methods.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .models import AccessKey, Account, AccountRegion, LoginAttempt, Membership, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "dkim_signing_zone", "enabled"]
    list_filter = ["enabled"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Region | None = None) -> list[str]:
        # The code is the primary key and appears in ARNs and URLs: fixed once created.
        return ["code"] if obj else []


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "created_at"]
    search_fields = ["id", "name"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]
    actions = ["create_access_key"]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        # The 12-digit id is in every ARN and credential scope: it never changes.
        return ["id", "created_at"] if obj else ["created_at"]

    @admin.action(description="Create access key")
    def create_access_key(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            key, secret = AccessKey.issue(account, description=f"Issued in admin by {request.user}")
            self.message_user(
                request,
                format_html(
                    "Access key {} for {}: secret access key <code>{}</code>. Copy it now: it "
                    "is shown only this once and can't be read again.",
                    key.access_key_id,
                    account,
                    secret,
                ),
                messages.SUCCESS,
            )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "account__id", "account__name"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]


@admin.register(AccountRegion)
class AccountRegionAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "account",
        "region",
        "production_access_enabled",
        "review_status",
        "enforcement_status",
        "sending_enabled",
        "max_24_hour_send",
        "max_send_rate",
        "requested_at",
    ]
    list_filter = ["region", "production_access_enabled", "review_status", "enforcement_status"]
    search_fields = ["account__id", "account__name", "review_case_id"]
    list_select_related = ["account", "region"]
    autocomplete_fields = ["account"]
    readonly_fields = [
        "production_access_enabled",
        "review_status",
        "review_case_id",
        "requested_at",
    ]
    actions = ["grant_production_access", "deny_production_access"]

    @admin.action(description="Grant production access")
    def grant_production_access(
        self, request: HttpRequest, queryset: QuerySet[AccountRegion]
    ) -> None:
        for row in queryset:
            row.grant_production_access()
        self.message_user(request, f"Granted production access to {len(queryset)} account regions.")

    @admin.action(description="Deny production access")
    def deny_production_access(
        self, request: HttpRequest, queryset: QuerySet[AccountRegion]
    ) -> None:
        for row in queryset:
            row.deny_production_access()
        self.message_user(request, f"Denied production access to {len(queryset)} account regions.")


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """Keys are issued with the Account action "Create access key", which shows the secret
    once; here they can only be described, deactivated, activated or deleted."""

    list_display = ["access_key_id", "account", "status", "created_at", "last_used_at"]
    list_filter = ["status"]
    search_fields = ["access_key_id", "account__id", "account__name", "description"]
    list_select_related = ["account"]
    exclude = ["secret_encrypted"]
    readonly_fields = ["access_key_id", "account", "status", "created_at", "last_used_at"]
    actions = ["deactivate", "activate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Deactivate selected access keys")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[AccessKey]) -> None:
        for key in queryset:
            key.deactivate()
        self.message_user(request, f"Deactivated {len(queryset)} access keys.")

    @admin.action(description="Activate selected access keys")
    def activate(self, request: HttpRequest, queryset: QuerySet[AccessKey]) -> None:
        for key in queryset:
            key.activate()
        self.message_user(request, f"Activated {len(queryset)} access keys.")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    """Failed sign-ins behind the login rate limit; delete a pair's rows to lift a lockout."""

    list_display = ["username", "ip_address", "at"]
    list_filter = ["at"]
    search_fields = ["username", "ip_address"]
    readonly_fields = ["username", "ip_address", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginAttempt | None = None) -> bool:
        return False
