from __future__ import annotations

from django.urls import path

from . import views

app_name = "verification"

urlpatterns = [
    path("verify/<str:token>/", views.confirm, name="confirm"),
    path("<slug:region>/verified-identities/which/", views.which_identity, name="which_identity"),
    path("<slug:region>/verified-identities/<path:name>/resend/", views.resend, name="resend"),
    path(
        "<slug:region>/verified-identities/<path:name>/verification-mail/",
        views.mail_status,
        name="mail_status",
    ),
]
