"""`/`: the console's home for a browser, the SES v1 Query API for a signed POST (api.v1.views.root
tells them apart, so an API call never gets the console's HTML)."""

from __future__ import annotations

from django.urls import path

from .views import root

urlpatterns = [path("", root)]
