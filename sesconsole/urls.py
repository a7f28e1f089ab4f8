from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
    # Before identities.urls: verification's pages sit under /<region>/verified-identities/.
    path("", include("verification.urls")),
    path("", include("templates_app.urls")),
    path("", include("accounts.urls")),
    path("", include("api.urls")),
    path("", include("identities.urls")),
]

# Rendered without the database, and a 503 when the database is what failed.
handler500 = "sesconsole.views.server_error"
