from __future__ import annotations

from django.apps import AppConfig


class SmtpConfig(AppConfig):
    name = "smtp"
    verbose_name = "SMTP interface"
