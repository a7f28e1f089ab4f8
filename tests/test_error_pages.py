"""handler500: no traceback ever; a database outage says so and answers 503 with Retry-After."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from sesconsole.urls import handler500 as project_handler500


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


def bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug with a secret detail")


urlpatterns = [path("database-down/", database_down), path("bug/", bug)]
handler500 = project_handler500

pytestmark = pytest.mark.urls("tests.test_error_pages")


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def test_server_error_database_down_answers_503_with_retry_after(client: Client) -> None:
    response = client.get("/database-down/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "The database is unavailable right now" in html
    assert "Traceback" not in html
    assert "5432" not in html


def test_server_error_other_exception_is_a_plain_500(client: Client) -> None:
    response = client.get("/bug/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret detail" not in html
    assert "Traceback" not in html
