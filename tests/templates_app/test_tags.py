"""Tags of custom verification templates in the console (Manage tags) and through the API,
one set of tags: the access matrix, the 50-tag rule, the htmx branch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccessKey, Account
from identities.models import Identity, Tag
from templates_app.models import CustomVerificationEmailTemplate

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def template(
    make_domain: Callable[..., Identity],
    make_template: Callable[..., CustomVerificationEmailTemplate],
) -> CustomVerificationEmailTemplate:
    make_domain("example.com").mark_verified()
    return make_template()


def url(view: str, template: CustomVerificationEmailTemplate) -> str:
    return reverse(f"templates_app:{view}", kwargs={"region": "us-east-1", "name": template.name})


def rows(*pairs: tuple[str, str]) -> dict[str, list[str]]:
    return {"tag_key": [key for key, _ in pairs], "tag_value": [value for _, value in pairs]}


def test_manage_tags_replaces_the_templates_tags(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    Tag.objects.create(template=template, key="old", value="1")

    response = owner_client.post(url("edit_tags", template), rows(("team", "growth"), ("env", "")))

    assert response.status_code == 302
    assert response["Location"] == url("detail", template)
    assert sorted(template.tags.values_list("key", "value")) == [("env", ""), ("team", "growth")]
    page = owner_client.get(url("detail", template)).content.decode()
    assert "Tags (2)" in page
    assert "growth" in page


def test_manage_tags_shows_current_tags(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    Tag.objects.create(template=template, key="team", value="growth")

    response = owner_client.get(url("edit_tags", template))

    assert response.status_code == 200
    assert 'value="team"' in response.content.decode()


def test_manage_tags_refuses_reserved_prefix(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    response = owner_client.post(url("edit_tags", template), rows(("aws:x", "1")), **HTMX)

    assert response.status_code == 200
    assert "starts with aws:, which is reserved for AWS" in response.content.decode()
    assert "<html" not in response.content.decode()  # the htmx partial
    assert template.tags.count() == 0


def test_manage_tags_refuses_more_than_50(
    owner_client: Client, template: CustomVerificationEmailTemplate
) -> None:
    response = owner_client.post(
        url("edit_tags", template), rows(*[(f"k{i}", "") for i in range(51)])
    )

    assert response.status_code == 200
    assert "at most 50 tags" in response.content.decode()


def test_manage_tags_access(
    client: Client,
    outsider_client: Client,
    owner_client: Client,
    template: CustomVerificationEmailTemplate,
) -> None:
    assert client.get(url("edit_tags", template)).status_code == 302  # to the login page
    assert outsider_client.get(url("edit_tags", template)).status_code == 404
    assert outsider_client.post(url("edit_tags", template), rows(("a", "b"))).status_code == 404
    assert owner_client.put(url("edit_tags", template)).status_code == 405
    assert template.tags.count() == 0


def test_console_tags_are_the_apis_tags(
    owner_client: Client,
    template: CustomVerificationEmailTemplate,
    account: Account,
    live_server: Any,
) -> None:
    key, secret = AccessKey.issue(account, description="tests")
    ses = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=live_server.url,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
    )
    owner_client.post(url("edit_tags", template), rows(("team", "growth")))

    got = ses.get_custom_verification_email_template(TemplateName=template.name)
    ses.tag_resource(ResourceArn=template.arn, Tags=[{"Key": "env", "Value": "prod"}])

    assert got["Tags"] == [{"Key": "team", "Value": "growth"}]
    page = owner_client.get(url("detail", template)).content.decode()
    assert "Tags (2)" in page
    assert "prod" in page
