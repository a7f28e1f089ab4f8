"""The console's SMTP settings page and "Create SMTP credentials".

SMTP credentials are an access key of the account (accounts.models.AccessKey.issue, as on the
API access keys page) shown as SES shows them: the key id as the SMTP user name and the
password derived for the page's region. Like the key's secret, the password is shown on the
creation response only (with a copy button and a .csv download built into that page) and is
never readable again.
"""

from __future__ import annotations

import csv
import io

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import Scope, console_scope
from accounts.models import AccessKey

from .credentials import REGIONS_WITHOUT_SMTP, smtp_password


def _endpoint(scope: Scope) -> dict[str, object]:
    return {
        "region": scope.region,
        "available": scope.region.code not in REGIONS_WITHOUT_SMTP,
        "server_name": settings.SMTP_SERVER_NAME,
        "starttls_port": settings.SMTP_PORT,
        "tls_port": settings.SMTP_TLS_PORT,
        "plaintext_on_loopback": settings.SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK,
        "nav": "smtp",
    }


@require_GET
@login_required
def smtp_settings(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    return render(request, "smtp/settings.html", _endpoint(scope))


def credentials_csv(username: str, password: str, region: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["SMTP user name", "SMTP password", "Region"])
    writer.writerow([username, password, region])
    return out.getvalue()


@require_POST
@login_required
def create_credentials(request: HttpRequest, region: str) -> HttpResponse:
    scope = console_scope(request, region)
    context = _endpoint(scope)
    if not context["available"]:
        response = render(request, "smtp/settings.html", context)
        response.status_code = 400
        return response
    key, secret = AccessKey.issue(
        scope.account, description=f"SMTP credentials ({scope.region.code})"
    )
    password = smtp_password(secret, scope.region.code)
    context |= {
        "username": key.access_key_id,
        "password": password,
        "csv": credentials_csv(key.access_key_id, password, scope.region.code),
    }
    response = render(request, "smtp/credentials_created.html", context)
    response["Cache-Control"] = "no-store"
    return response
