from __future__ import annotations

from django.urls import path

from . import views

app_name = "smtp"

urlpatterns = [
    path("<slug:region>/smtp-settings/", views.smtp_settings, name="settings"),
    path(
        "<slug:region>/smtp-settings/credentials/",
        views.create_credentials,
        name="create_credentials",
    ),
]
