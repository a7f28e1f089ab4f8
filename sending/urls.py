from __future__ import annotations

from django.urls import path, re_path

from . import views

app_name = "sending"

MESSAGE = "<slug:region>/sent-messages/<str:message_id>"

urlpatterns = [
    path("<slug:region>/sent-messages/", views.sent_messages, name="list"),
    path(f"{MESSAGE}/", views.message, name="message"),
    path(f"{MESSAGE}/html/", views.message_html, name="message_html"),
    path(f"{MESSAGE}/raw.eml", views.message_eml, name="message_eml"),
    # The Mailbox pages (/mailbox/, /mailbox/<pk>/, /mailbox/<pk>/html/) from before
    # verification mails became sent messages: redirects to the list.
    re_path(r"^mailbox/(?:[0-9]+/(?:html/)?)?$", views.mailbox, name="mailbox"),
    path(
        "<slug:region>/verified-identities/<path:name>/send-test-email/",
        views.send_test_email,
        name="send_test_email",
    ),
]
