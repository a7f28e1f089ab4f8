from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
    # `/` is the console's home and the SES v1 Query API (POST with Action=...): the view tells
    # them apart, so API calls never get the console's HTML.
    path("", include("api.v1.urls")),
    # Before identities.urls: verification's pages sit under /<region>/verified-identities/.
    path("", include("verification.urls")),
    path("", include("sending.urls")),
    path("", include("templates_app.urls")),
    path("", include("accounts.urls")),
    path("", include("smtp.urls")),
    path("", include("api.urls")),
    path("", include("identities.urls")),
]

# Rendered without the database, and a 503 when the database is what failed.
handler500 = "sesconsole.views.server_error"
