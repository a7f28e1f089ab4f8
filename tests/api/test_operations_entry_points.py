"""Every identity change, driven through each entry point that offers it: the console, the
SES v2 API (boto3 against the live server) and Django admin. Whatever the way in, the change
goes through the one `identities.operations` function, so the resulting state, the queued
follow-up work and the history event are the same; only the event's actor differs, and it
names who made the change.

It lives beside the API tests because it needs their live server and boto3 fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from accounts import actors
from identities import operations
from identities.models import ConfigurationSet, Identity
from identities.provisioning import Byodkim
from identities.validators import parse_byodkim_private_key
from tests.identities.test_create_view import domain_form as create_form
from tests.support.keys import der_base64, pem, rsa_key

from .conftest import KeyPair

NAME = "example.com"
ADDRESS = "sender@example.com"
POLICY = '{"Version": "2012-10-17", "Statement": []}'
KEY = rsa_key(1024)
Identities = dict[str, Callable[..., Identity]]


# --- how each entry point is driven -----------------------------------------------------------
def console_url(view: str, name: str = NAME) -> str:
    return reverse(f"identities:{view}", kwargs={"region": "us-east-1", "name": name})


def console_post(client: Client, url: str, data: dict[str, Any]) -> None:
    response = client.post(url, data)
    # A redirect: the form was valid and the change saved (an invalid form answers 200).
    assert response.status_code == 302, response.content.decode()[:2000]


def dkim_form(**overrides: Any) -> dict[str, Any]:
    data = {"dkim_type": "AWS_SES", "key_length": "RSA_2048_BIT", "dkim_signing_enabled": "on"}
    return {**data, **overrides}


def _form_values(form: forms.BaseForm) -> dict[str, Any]:
    """What a browser would post for `form` as rendered: checked boxes only, "" for None."""
    values: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                values[form.add_prefix(name)] = "on"
        else:
            values[form.add_prefix(name)] = "" if value is None else value
    return values


def admin_post(client: Client, identity: Identity, **changes: Any) -> Any:
    """Post the identity's admin change page as rendered, with `changes` (None: unchecked)."""
    url = reverse("admin:identities_identity_change", args=[identity.pk])
    page = client.get(url)
    data = _form_values(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        data.update(_form_values(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(_form_values(form))
    data.update(changes)
    return client.post(url, {key: value for key, value in data.items() if value is not None})


def admin_change(client: Client, identity: Identity, **changes: Any) -> None:
    response = admin_post(client, identity, **changes)
    assert response.status_code == 302, _admin_errors(response)


def _admin_errors(response: Any) -> Any:
    context = response.context
    inlines = [inline.formset.errors for inline in context["inline_admin_formsets"]]
    non_form = [inline.formset.non_form_errors() for inline in context["inline_admin_formsets"]]
    return context["adminform"].form.errors, inlines, non_form


def admin_action(client: Client, identity: Identity, action: str, **extra: Any) -> None:
    url = reverse("admin:identities_identity_changelist")
    client.post(url, {"action": action, "_selected_action": [identity.pk], **extra})


# --- the changes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One identity change: how to set it up, how each entry point makes it, what results."""

    setup: Callable[[Identities], Identity | None]
    state: Callable[[Identity | None], Any]
    event: tuple[str, str] | None  # (kind, message) of the one event it records
    queued: tuple[str, ...] = ()  # the tasks it queues, by name
    console: Callable[[Client, Identity | None], None] | None = None
    api: Callable[[Any, Identity | None], None] | None = None
    admin: Callable[[Client, Identity | None], None] | None = None


def domain(make: Identities, **kwargs: Any) -> Identity:
    return make["domain"](NAME, **kwargs)


def byodkim_key() -> Byodkim:
    return Byodkim(selector="old", key=parse_byodkim_private_key(der_base64(rsa_key(1024))))


def row(name: str = NAME) -> Identity:
    return Identity.objects.get(name=name)


def dkim(identity: Any) -> tuple[Any, ...]:
    identity = row()
    return (
        identity.dkim_signing_enabled,
        identity.dkim_origin,
        identity.dkim_next_key_length,
        identity.dkim_status,
        sorted(identity.dkim_keys.values_list("selector", flat=True)),
    )


def mail_from(identity: Any) -> tuple[str, str, str]:
    identity = row()
    return (identity.mail_from_domain, identity.mail_from_behavior, identity.mail_from_status)


KEYS = "identities.tasks.generate_easy_dkim_keys"


def easy_1024_console(client: Client, identity: Any) -> None:
    console_post(client, console_url("edit_dkim"), dkim_form(key_length="RSA_1024_BIT"))


def easy_1024_api(ses: Any, identity: Any) -> None:
    ses.put_email_identity_dkim_signing_attributes(
        EmailIdentity=NAME,
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )


CHANGES: dict[str, Change] = {
    "create_domain": Change(
        setup=lambda make: None,
        state=lambda _: (row().identity_type, row().verification_status, row().dkim_origin),
        event=("created", "Domain identity created."),
        queued=("identities.tasks.start_domain_identity",),
        console=lambda c, _: console_post(
            c, reverse("identities:create", kwargs={"region": "us-east-1"}), create_form()
        ),
        api=lambda ses, _: ses.create_email_identity(EmailIdentity=NAME),
    ),
    "create_email": Change(
        setup=lambda make: None,
        state=lambda _: (row(ADDRESS).identity_type, row(ADDRESS).verification_status),
        event=("created", "Email address identity created."),
        queued=("verification.tasks.start_identity_verification",),
        console=lambda c, _: console_post(
            c,
            reverse("identities:create", kwargs={"region": "us-east-1"}),
            create_form(identity_type="EMAIL_ADDRESS", domain="", email=ADDRESS),
        ),
        api=lambda ses, _: ses.create_email_identity(EmailIdentity=ADDRESS),
    ),
    "delete": Change(
        setup=domain,
        state=lambda _: Identity.objects.filter(name=NAME).exists(),
        event=None,  # the history goes with the identity
        console=lambda c, i: console_post(c, console_url("delete"), {"confirm": NAME}),
        api=lambda ses, i: ses.delete_email_identity(EmailIdentity=NAME),
        admin=lambda c, i: admin_action(c, i, "delete_selected", post="yes"),
    ),
    "dkim_signing_off": Change(
        setup=domain,
        state=dkim,
        event=("dkim_signing", "DKIM signing disabled."),
        console=lambda c, i: console_post(
            c, console_url("edit_dkim"), dkim_form(dkim_signing_enabled="")
        ),
        api=lambda ses, i: ses.put_email_identity_dkim_attributes(
            EmailIdentity=NAME, SigningEnabled=False
        ),
        admin=lambda c, i: admin_change(c, i, dkim_signing_enabled=None),
    ),
    "dkim_key_length": Change(
        setup=domain,
        state=dkim,
        event=("dkim_key_length", "DKIM key length set to RSA_1024_BIT."),
        queued=(KEYS,),
        console=easy_1024_console,
        api=easy_1024_api,
    ),
    "use_byodkim": Change(
        setup=domain,
        state=dkim,
        event=("dkim_byodkim", "DKIM set to BYODKIM with selector sel1 (1024-bit key)."),
        console=lambda c, i: console_post(
            c,
            console_url("edit_dkim"),
            dkim_form(dkim_type="EXTERNAL", selector="sel1", private_key=pem(KEY)),
        ),
        api=lambda ses, i: ses.put_email_identity_dkim_signing_attributes(
            EmailIdentity=NAME,
            SigningAttributesOrigin="EXTERNAL",
            SigningAttributes={
                "DomainSigningSelector": "sel1",
                "DomainSigningPrivateKey": der_base64(KEY),
            },
        ),
    ),
    "use_easy_dkim": Change(
        setup=lambda make: domain(make, dkim=byodkim_key()),
        state=lambda i: (*dkim(i)[:4], len(row().dkim_tokens)),
        event=("dkim_easy", "DKIM switched to Easy DKIM (RSA_1024_BIT)."),
        queued=(KEYS,),
        console=easy_1024_console,
        api=easy_1024_api,
    ),
    "set_mail_from": Change(
        setup=domain,
        state=mail_from,
        event=("mail_from", "Custom MAIL FROM domain set to mail.example.com."),
        console=lambda c, i: console_post(
            c,
            console_url("edit_mail_from"),
            {
                "use_mail_from": "on",
                "mail_from_domain": "mail.example.com",
                "mail_from_behavior": "REJECT_MESSAGE",
            },
        ),
        api=lambda ses, i: ses.put_email_identity_mail_from_attributes(
            EmailIdentity=NAME,
            MailFromDomain="mail.example.com",
            BehaviorOnMxFailure="REJECT_MESSAGE",
        ),
    ),
    "clear_mail_from": Change(
        setup=lambda make: domain(
            make, mail_from_domain="mail.example.com", mail_from_behavior="REJECT_MESSAGE"
        ),
        state=mail_from,
        event=("mail_from", "Custom MAIL FROM domain removed."),
        console=lambda c, i: console_post(
            c, console_url("edit_mail_from"), {"mail_from_behavior": "USE_DEFAULT_VALUE"}
        ),
        api=lambda ses, i: ses.put_email_identity_mail_from_attributes(EmailIdentity=NAME),
    ),
    "set_configuration_set": Change(
        setup=lambda make: (
            ConfigurationSet.objects.create(
                account_id="111111111111", region_id="us-east-1", name="marketing"
            )
            and domain(make)
        ),
        state=lambda _: row().configuration_set_name,
        event=("configuration_set", "Default configuration set set to marketing."),
        console=lambda c, i: console_post(
            c, console_url("edit_configuration_set"), {"configuration_set": "marketing"}
        ),
        api=lambda ses, i: ses.put_email_identity_configuration_set_attributes(
            EmailIdentity=NAME, ConfigurationSetName="marketing"
        ),
        admin=lambda c, i: admin_change(c, i, configuration_set_name="marketing"),
    ),
    "feedback_forwarding_off": Change(
        setup=domain,
        state=lambda _: row().feedback_forwarding_enabled,
        event=("feedback_forwarding", "Email feedback forwarding disabled."),
        console=lambda c, i: console_post(c, console_url("edit_feedback"), {}),
        api=lambda ses, i: ses.put_email_identity_feedback_attributes(
            EmailIdentity=NAME, EmailForwardingEnabled=False
        ),
        admin=lambda c, i: admin_change(c, i, feedback_forwarding_enabled=None),
    ),
    "tags": Change(
        setup=domain,
        state=lambda _: list(row().tags.values_list("key", "value")),
        event=("tags", "Tags saved: 1 tag."),
        console=lambda c, i: console_post(
            c, console_url("edit_tags"), {"tag_key": ["env"], "tag_value": ["prod"]}
        ),
        api=lambda ses, i: ses.tag_resource(
            ResourceArn=row().arn, Tags=[{"Key": "env", "Value": "prod"}]
        ),
        admin=lambda c, i: admin_change(
            c, i, **{"tags-TOTAL_FORMS": "1", "tags-0-key": "env", "tags-0-value": "prod"}
        ),
    ),
    "create_policy": Change(
        # Unverified: AWS accepts policies on unverified identities, so every entry point does.
        setup=domain,
        state=lambda _: (
            row().verification_status,
            dict(row().policies.values_list("name", "document")),
        ),
        event=("policy", "Policy p1 created."),
        api=lambda ses, i: ses.create_email_identity_policy(
            EmailIdentity=NAME, PolicyName="p1", Policy=POLICY
        ),
        admin=lambda c, i: admin_change(
            c,
            i,
            **{"policies-TOTAL_FORMS": "1", "policies-0-name": "p1", "policies-0-document": POLICY},
        ),
    ),
    "check_now": Change(
        setup=lambda make: (
            Identity.objects.filter(pk=domain(make).pk).update(next_check_at=None) and row()
        ),
        state=lambda _: row().next_check_at is not None,
        event=("check_now", "DNS check requested."),
        queued=("identities.tasks.check_identity_now",),
        console=lambda c, i: console_post(c, console_url("check_now"), {}),
        admin=lambda c, i: admin_action(c, i, "check_dns_now"),
    ),
}

PARAMS = [
    pytest.param(name, entry, id=f"{name}-{entry}")
    for name, change in CHANGES.items()
    for entry in ("console", "api", "admin")
    if getattr(change, entry) is not None
]


def actor_for(entry: str, key: KeyPair) -> str:
    return {
        "console": "owner",  # actors.console(the owner)
        "api": actors.api(key.access_key_id),
        "admin": "admin operator",
    }[entry]


@pytest.fixture
def made(make_domain: Callable[..., Identity], make_email: Callable[..., Identity]) -> Identities:
    return {"domain": make_domain, "email": make_email}


@pytest.mark.parametrize(("name", "entry"), PARAMS)
def test_change_is_the_same_from_every_entry_point(
    name: str,
    entry: str,
    made: Identities,
    owner_client: Client,
    operator_client: Client,
    ses: Any,
    owner_key: KeyPair,
    queued_tasks: Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    change = CHANGES[name]
    identity = change.setup(made)
    last_event = identity.events.order_by("id").last().pk if identity is not None else 0
    queued_tasks()  # only what the change itself queues

    client = {"console": owner_client, "api": ses, "admin": operator_client}[entry]
    getattr(change, entry)(client, identity)

    # The same state whatever the way in.
    assert change.state(identity) == EXPECTED_STATES[name]
    assert [task for task, _ in queued_tasks()] == list(change.queued)
    events = list(
        Identity.objects.get(name=identity.name if identity else _created_name(name))
        .events.filter(pk__gt=last_event)
        .values_list("kind", "message", "actor")
        if change.event is not None
        else []
    )
    expected = [(*change.event, actor_for(entry, owner_key))] if change.event else []
    assert events == expected


def _created_name(name: str) -> str:
    return ADDRESS if name == "create_email" else NAME


EXPECTED_STATES: dict[str, Any] = {
    "create_domain": ("DOMAIN", "PENDING", "AWS_SES"),
    "create_email": ("EMAIL_ADDRESS", "PENDING"),
    "delete": False,
    "dkim_signing_off": (False, "AWS_SES", "RSA_2048_BIT", "PENDING", []),
    "dkim_key_length": (True, "AWS_SES", "RSA_1024_BIT", "PENDING", []),
    "use_byodkim": (True, "EXTERNAL", "RSA_2048_BIT", "PENDING", ["sel1"]),
    "use_easy_dkim": (True, "AWS_SES", "RSA_1024_BIT", "PENDING", 3),
    "set_mail_from": ("mail.example.com", "REJECT_MESSAGE", "PENDING"),
    "clear_mail_from": ("", "USE_DEFAULT_VALUE", ""),
    "set_configuration_set": "marketing",
    "feedback_forwarding_off": False,
    "tags": [("env", "prod")],
    "create_policy": ("PENDING", {"p1": POLICY}),
    "check_now": True,
}


def test_every_change_has_an_expected_state_and_two_entry_points() -> None:
    assert set(EXPECTED_STATES) == set(CHANGES)
    entries = {name: [e for n, e in (p.values for p in PARAMS) if n == name] for name in CHANGES}
    assert {name: len(found) >= 2 for name, found in entries.items()} == dict.fromkeys(
        CHANGES, True
    )


# --- admin inlines keep the rules of the other entry points ------------------------------------
def test_admin_tag_inline_refuses_a_51st_tag(
    operator_client: Client, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain(NAME)
    operations.set_tags(identity, [(f"k{i:02}", "") for i in range(50)], actor="test")

    response = admin_post(
        operator_client,
        identity,
        **{"tags-TOTAL_FORMS": "51", "tags-50-key": "one-more", "tags-50-value": ""},
    )

    assert response.status_code == 200
    [tags] = [
        i.formset for i in response.context["inline_admin_formsets"] if i.formset.prefix == "tags"
    ]
    assert tags.non_form_errors() == [
        "A resource can have at most 50 tags; this would give it 51. Remove some tags first."
    ]
    assert identity.tags.count() == 50


def test_admin_policy_inline_refuses_a_21st_policy(
    operator_client: Client, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain(NAME)
    for i in range(20):
        operations.create_policy(identity, f"p{i:02}", POLICY, actor="test")

    response = admin_post(
        operator_client,
        identity,
        **{"policies-TOTAL_FORMS": "21", "policies-20-name": "p20", "policies-20-document": POLICY},
    )

    assert response.status_code == 200
    [policies] = [
        i.formset
        for i in response.context["inline_admin_formsets"]
        if i.formset.prefix == "policies"
    ]
    assert policies.non_form_errors() == [
        "An identity can have at most 20 policies; this would give it 21. Delete some first."
    ]
    assert identity.policies.count() == 20


def test_admin_policy_inline_edits_and_deletes_through_the_operations(
    operator_client: Client, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain(NAME)
    operations.create_policy(identity, "keep", POLICY, actor="test")
    operations.create_policy(identity, "drop", POLICY, actor="test")
    changed = '{"Version": "2012-10-17", "Statement": [], "Id": "x"}'
    first_new_event = identity.events.order_by("id").last().pk + 1

    # Inline rows come in name order: drop (0), keep (1).
    admin_change(
        operator_client,
        identity,
        **{"policies-0-DELETE": "on", "policies-1-document": changed},
    )

    assert dict(identity.policies.values_list("name", "document")) == {"keep": changed}
    assert list(
        identity.events.filter(pk__gte=first_new_event)
        .order_by("id")
        .values_list("message", "actor")
    ) == [("Policy drop deleted.", "admin operator"), ("Policy keep updated.", "admin operator")]
