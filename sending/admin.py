"""Operators see sent messages (read-only: the system writes them); the MIME is not shown."""

from __future__ import annotations

from django.contrib import admin

from identities.admin import ReadOnlyAdminMixin

from .models import SentMessage


@admin.register(SentMessage)
class SentMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "message_id",
        "account",
        "region",
        "from_address",
        "status",
        "configuration_set_name",
        "accepted_at",
        "attempts",
    ]
    list_filter = ["status", "region"]
    search_fields = ["message_id", "from_address", "account__id"]
    list_select_related = ["account", "region"]
    exclude = ["mime", "dkim_signature"]
    show_full_result_count = False  # counting 100,000s of rows on every page view is slow
