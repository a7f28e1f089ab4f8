"""Operator admin for custom verification email templates (SES has no console for them)."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from identities.admin import TagForm
from identities.models import Tag

from .models import CustomVerificationEmailTemplate


class TemplateTagInline(admin.TabularInline):
    model = Tag
    fk_name = "template"
    form = TagForm
    extra = 0
    fields = ["key", "value"]


@admin.register(CustomVerificationEmailTemplate)
class CustomVerificationEmailTemplateAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "from_email_address", "account", "region", "updated_at"]
    list_filter = ["region"]
    search_fields = ["name", "from_email_address", "subject", "account__id", "account__name"]
    list_select_related = ["account", "region"]
    autocomplete_fields = ["account"]
    readonly_fields = ["arn", "created_at", "updated_at"]
    inlines = [TemplateTagInline]
