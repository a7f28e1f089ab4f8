"""Read-only admin for verification links: the system owns these rows.

A link's token (and its encrypted copy) never appears; operators see who, when and how the
mail went, and can queue a link's mail again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from sesconsole.enqueue import send_now

from . import flows
from .models import MailStatus, VerificationLink


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VerificationLink)
class VerificationLinkAdmin(_ReadOnly):
    list_display = [
        "email_address", "account", "region", "template_name", "mail_status", "attempts",
        "created_at", "sent_at", "expires_at", "used_at", "superseded_at",
    ]  # fmt: skip
    list_filter = ["mail_status", "region", "created_at"]
    search_fields = ["email_address", "account__id", "account__name", "message_id"]
    list_select_related = ["account", "region"]
    date_hierarchy = "created_at"
    fields = [
        "account",
        "region",
        "email_address",
        "identity",
        "template",
        "template_name",
        "success_redirection_url",
        "failure_redirection_url",
        "configuration_set_name",
        "message_id",
        "created_at",
        "sent_at",
        "expires_at",
        "used_at",
        "superseded_at",
        "mail_status",
        "mail_error",
        "attempts",
        "claimed_at",
    ]  # fmt: skip  (token_hash and token_encrypted are left out on purpose)
    actions = ["queue_again"]

    @admin.action(description="Queue the verification mail again (queued or sending links)")
    def queue_again(self, request: HttpRequest, queryset: QuerySet[VerificationLink]) -> None:
        links = [
            link.pk
            for link in queryset
            if link.needs_sending and link.mail_status in (MailStatus.QUEUED, MailStatus.SENDING)
        ]
        queued = sum(send_now(flows.SEND_VERIFICATION_EMAIL, link_id=link_id) for link_id in links)
        self.message_user(request, f"Queued {queued} verification mails.", messages.SUCCESS)
