"""The identity page's Authorization tab: list, create with the generator or as JSON, view,
edit and delete sending authorization policies, through the same operations as the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from identities.models import Identity, IdentityPolicy

pytestmark = pytest.mark.django_db

DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["222222222222"]},
                "Action": ["ses:SendEmail"],
                "Resource": "arn:aws:ses:us-east-1:111111111111:identity/example.com",
            }
        ],
    }
)


@pytest.fixture
def domain(make_domain: Callable[..., Identity]) -> Identity:
    return make_domain("example.com")


def url(view: str, identity: Identity, **extra: str) -> str:
    return reverse(
        f"identities:{view}", kwargs={"region": identity.region_id, "name": identity.name, **extra}
    )


def generator_data(**overrides: Any) -> dict[str, Any]:
    """One statement (s0) with one condition (s0-c0), as the generator posts them."""
    data = {
        "name": "AllowPartner",
        "mode": "generator",
        "statements": "1",
        "s0-effect": "Allow",
        "s0-principals": "222222222222, arn:aws:iam::333333333333:user/sender",
        "s0-actions": ["ses:SendEmail", "ses:SendRawEmail"],
        "s0-conditions": "1",
        "s0-c0-key": "ses:FromAddress",
        "s0-c0-operator": "StringLike",
        "s0-c0-values": "*@example.com",
        "document": "",
    }
    data.update(overrides)
    return data


def test_tab_lists_policies(owner_client: Client, domain: Identity) -> None:
    empty = owner_client.get(url("tab_authorization", domain)).content.decode()
    assert "<strong>No policies</strong>" in empty
    assert 'aria-current="page">Authorization</a>' in empty
    IdentityPolicy.objects.create(identity=domain, name="AllowPartner", document=DOCUMENT)
    page = owner_client.get(url("tab_authorization", domain)).content.decode()
    assert (
        f'<a href="{url("policy_detail", domain, policy="AllowPartner")}">AllowPartner</a>' in page
    )


def test_tab_htmx_gets_the_tabs_partial(owner_client: Client, domain: Identity) -> None:
    html = owner_client.get(url("tab_authorization", domain), headers={"HX-Request": "true"})
    assert html.content.decode().lstrip().startswith('<div id="identity-tabs"')


def test_generator_builds_the_statement(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(url("policy_create", domain), generator_data())
    assert response["Location"] == url("tab_authorization", domain)
    policy = domain.policies.get()
    assert json.loads(policy.document) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowSendEmailSendRawEmail",
                "Effect": "Allow",
                "Principal": {"AWS": ["222222222222", "arn:aws:iam::333333333333:user/sender"]},
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": domain.arn,
                "Condition": {"StringLike": {"ses:FromAddress": ["*@example.com"]}},
            }
        ],
    }
    event = domain.events.order_by("-id").first()
    assert event is not None
    assert event.actor == "owner"


def test_generator_errors_keep_the_input(owner_client: Client, domain: Identity) -> None:
    response = owner_client.post(
        url("policy_create", domain),
        generator_data(**{"s0-principals": "someone", "s0-actions": [], "s0-c0-values": ""}),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“someone” is not an AWS account ID or IAM ARN." in html
    assert "Choose at least one action." in html
    assert "Enter the values the condition compares with." in html
    assert 'value="AllowPartner"' in html
    assert not domain.policies.exists()


def test_generator_builds_several_statements_with_several_conditions(
    owner_client: Client, domain: Identity
) -> None:
    data = generator_data(
        statements="2",
        **{
            "s0-conditions": "2",
            "s0-c1-key": "ses:Recipients",
            "s0-c1-operator": "ForAllValues:StringLike",
            "s0-c1-values": "*@partner.example, *@example.com",
            "s1-effect": "Deny",
            "s1-principals": "444444444444",
            "s1-actions": ["ses:SendRawEmail"],
            "s1-conditions": "0",
        },
    )

    response = owner_client.post(url("policy_create", domain), data)

    assert response.status_code == 302
    statements = json.loads(domain.policies.get().document)["Statement"]
    assert statements[0]["Condition"] == {
        "StringLike": {"ses:FromAddress": ["*@example.com"]},
        "ForAllValues:StringLike": {"ses:Recipients": ["*@partner.example", "*@example.com"]},
    }
    assert statements[1] == {
        "Sid": "DenySendRawEmail",
        "Effect": "Deny",
        "Principal": {"AWS": ["444444444444"]},
        "Action": ["ses:SendRawEmail"],
        "Resource": domain.arn,
    }


def test_generator_same_key_twice_under_one_operator_is_refused(
    owner_client: Client, domain: Identity
) -> None:
    data = generator_data(
        **{"s0-conditions": "2", "s0-c1-key": "ses:FromAddress", "s0-c1-operator": "StringLike"},
        **{"s0-c1-values": "*@other.example"},
    )

    response = owner_client.post(url("policy_create", domain), data)

    assert response.status_code == 200
    assert response.context["generator"].statements[0].conditions[1].errors["key"] == [
        "This statement already has a StringLike condition on ses:FromAddress. Put all the "
        "values in that condition, separated by commas."
    ]
    assert not domain.policies.exists()


@pytest.mark.parametrize(
    ("button", "shape"),
    [
        ({"add_statement": "1"}, [1, 1]),  # a new statement starts with an empty condition
        ({"add_condition": "0"}, [2]),
        ({"remove_condition": "0-0"}, [0]),
    ],
)
def test_generator_buttons_rerender_the_form_keeping_what_was_typed(
    owner_client: Client, domain: Identity, button: dict[str, str], shape: list[int]
) -> None:
    data = generator_data(name="", **{"s0-principals": "222222222222"}, **button)

    response = owner_client.post(url("policy_create", domain), data)

    generator = response.context["generator"]
    html = response.content.decode()
    assert response.status_code == 200
    assert [len(s.conditions) for s in generator.statements] == shape
    assert 'value="222222222222"' in html  # kept
    assert "This field is required." not in html  # an edit is not a submit: no errors
    assert not domain.policies.exists()


def test_generator_remove_statement_keeps_the_others(
    owner_client: Client, domain: Identity
) -> None:
    data = generator_data(
        statements="2",
        remove_statement="0",
        **{"s1-principals": "444444444444", "s1-conditions": "0", "s1-effect": "Deny"},
    )

    response = owner_client.post(url("policy_create", domain), data)

    (statement,) = response.context["generator"].statements
    assert statement.form.initial["principals"] == "444444444444"
    assert statement.form.initial["effect"] == "Deny"
    assert 'name="s0-principals" value="444444444444"' in response.content.decode()


def test_json_mode_stores_the_document_and_reports_bad_json(
    owner_client: Client, domain: Identity
) -> None:
    bad = owner_client.post(
        url("policy_create", domain), generator_data(mode="json", document="{not json")
    )
    assert "The policy is not valid JSON" in bad.content.decode()
    assert not domain.policies.exists()
    # The generator's inputs, even invalid ones, don't matter for a pasted policy.
    good = owner_client.post(
        url("policy_create", domain),
        generator_data(mode="json", document=DOCUMENT, **{"s0-principals": "someone"}),
    )
    assert good.status_code == 302
    assert domain.policies.get().document == DOCUMENT


def test_taken_name_and_bad_name(owner_client: Client, domain: Identity) -> None:
    IdentityPolicy.objects.create(identity=domain, name="AllowPartner", document=DOCUMENT)
    taken = owner_client.post(url("policy_create", domain), generator_data()).content.decode()
    assert "already has a policy named AllowPartner. Update it instead." in taken
    bad = owner_client.post(url("policy_create", domain), generator_data(name="has space"))
    assert "is not a valid policy name" in bad.content.decode()


def test_view_edit_and_delete(owner_client: Client, domain: Identity) -> None:
    IdentityPolicy.objects.create(identity=domain, name="AllowPartner", document=DOCUMENT)
    view = owner_client.get(url("policy_detail", domain, policy="AllowPartner")).content.decode()
    assert "&quot;ses:SendEmail&quot;" in view
    assert 'data-copy-target="policy-document"' in view
    edited = DOCUMENT.replace("ses:SendEmail", "ses:SendRawEmail")
    response = owner_client.post(
        url("policy_edit", domain, policy="AllowPartner"), {"document": edited}
    )
    assert response.status_code == 302
    assert domain.policies.get().document == edited
    bad_edit = owner_client.post(
        url("policy_edit", domain, policy="AllowPartner"), {"document": "[]"}
    )
    assert "The policy must be a JSON object" in bad_edit.content.decode()
    wrong = owner_client.post(
        url("policy_delete", domain, policy="AllowPartner"), {"confirm": "nope"}
    )
    assert "The name you entered doesn&#x27;t match." in wrong.content.decode()
    assert domain.policies.exists()
    gone = owner_client.post(
        url("policy_delete", domain, policy="AllowPartner"), {"confirm": "AllowPartner"}
    )
    assert gone["Location"] == url("tab_authorization", domain)
    assert not domain.policies.exists()
    assert domain.events.order_by("-id").first().message == "Policy AllowPartner deleted."  # type: ignore[union-attr]


def test_twentieth_policy_is_the_last(owner_client: Client, domain: Identity) -> None:
    for i in range(20):
        IdentityPolicy.objects.create(identity=domain, name=f"P{i}", document=DOCUMENT)
    response = owner_client.post(url("policy_create", domain), generator_data())
    assert "already has 20 policies, the most SES allows. Delete one first." in (
        response.content.decode()
    )


def test_other_account_and_missing_policy_are_404(
    outsider_client: Client, owner_client: Client, domain: Identity
) -> None:
    IdentityPolicy.objects.create(identity=domain, name="AllowPartner", document=DOCUMENT)
    for view in ("policy_detail", "policy_edit", "policy_delete"):
        assert outsider_client.get(url(view, domain, policy="AllowPartner")).status_code == 404
        assert owner_client.get(url(view, domain, policy="Missing")).status_code == 404
    assert outsider_client.post(url("policy_create", domain), generator_data()).status_code == 404
    assert domain.policies.count() == 1


def test_wrong_method_and_anonymous(client: Client, owner_client: Client, domain: Identity) -> None:
    IdentityPolicy.objects.create(identity=domain, name="AllowPartner", document=DOCUMENT)
    assert owner_client.post(url("policy_detail", domain, policy="AllowPartner")).status_code == 405
    response = client.get(url("policy_create", domain))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
