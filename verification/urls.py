from __future__ import annotations

from django.urls import path

from . import views

app_name = "verification"

urlpatterns = [
    path("verify/<str:token>/", views.confirm, name="confirm"),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<int:pk>/", views.mailbox_message, name="mailbox_message"),
    path("mailbox/<int:pk>/html/", views.mailbox_message_html, name="mailbox_message_html"),
    path("<slug:region>/verified-identities/which/", views.which_identity, name="which_identity"),
    path("<slug:region>/verified-identities/<path:name>/resend/", views.resend, name="resend"),
    path(
        "<slug:region>/verified-identities/<path:name>/verification-mail/",
        views.mail_status,
        name="mail_status",
    ),
]
