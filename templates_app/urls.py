from __future__ import annotations

from django.urls import path

from . import views

app_name = "templates_app"

TEMPLATE = "<slug:region>/custom-verification-templates/<str:name>"

urlpatterns = [
    path("<slug:region>/custom-verification-templates/", views.template_list, name="list"),
    # Outside the collection's path, so that a template may be named "create".
    path("<slug:region>/create-custom-verification-template/", views.create, name="create"),
    path(f"{TEMPLATE}/", views.detail, name="detail"),
    path(f"{TEMPLATE}/edit/", views.edit, name="edit"),
    path(f"{TEMPLATE}/tags/", views.edit_tags, name="edit_tags"),
    path(f"{TEMPLATE}/delete/", views.delete, name="delete"),
    path(f"{TEMPLATE}/send-test/", views.send_test, name="send_test"),
    path(f"{TEMPLATE}/preview/", views.preview, name="preview"),
]
