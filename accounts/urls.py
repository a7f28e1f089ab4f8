from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import access_key_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-region/", views.switch_region, name="switch_region"),
    path("<slug:region>/account/", views.account_dashboard, name="account_dashboard"),
    path(
        "<slug:region>/account/withdraw-request/",
        views.withdraw_production_access,
        name="withdraw_production_access",
    ),
    path("access-keys/", access_key_views.access_keys, name="access_keys"),
    path("access-keys/create/", access_key_views.access_key_create, name="access_key_create"),
    path(
        "access-keys/<str:access_key_id>/deactivate/",
        access_key_views.access_key_deactivate,
        name="access_key_deactivate",
    ),
    path(
        "access-keys/<str:access_key_id>/activate/",
        access_key_views.access_key_activate,
        name="access_key_activate",
    ),
    path(
        "access-keys/<str:access_key_id>/delete/",
        access_key_views.access_key_delete,
        name="access_key_delete",
    ),
]
