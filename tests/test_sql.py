"""sesconsole.sql: instances built from hand-written SELECTs are the ones the ORM builds.

`sql.instance` converts the selected values as the ORM would and builds the instance with
`Model.from_db`; these tests hold it to what a QuerySet gives for the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection, models
from django.db.models import Model, Value
from django.db.models.signals import post_init
from django.test.utils import isolate_apps

from accounts.models import Account, Region
from identities.models import Identity
from sesconsole import sql

pytestmark = pytest.mark.django_db


def selected_row(
    model: type[Model], pk: Any, names: Sequence[str] | None = None
) -> tuple[Any, ...]:
    """The row `sql.columns` selects for the instance `pk` of `model`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql.columns(model, 't', names)} FROM {sql.table(model)} t "
            f"WHERE t.{sql.quote(str(model._meta.pk.column))} = %s",  # type: ignore[union-attr]
            [pk],
        )
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def loaded_state(instance: Model) -> dict[str, Any]:
    """Everything an instance holds: its loaded values and its ModelState."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    return {
        "values": values,
        "adding": instance._state.adding,
        "db": instance._state.db,
        "deferred": instance.get_deferred_fields(),
    }


DETAIL = (
    "id",
    "account",
    "region",
    "name",
    "verification_status",
    "dkim_tokens",
    "last_checked_at",
)


def test_a_partial_row_gives_what_the_orm_gives(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("partial.example.com")

    built, end = sql.instance(Identity, selected_row(Identity, identity.pk, DETAIL), 0, DETAIL)

    assert type(built) is Identity
    assert end == len(DETAIL)
    assert loaded_state(built) == loaded_state(Identity.objects.only(*DETAIL).get(pk=identity.pk))


def test_a_full_row_gives_what_the_orm_gives(make_domain: Callable[..., Identity]) -> None:
    identity = make_domain("full.example.com")

    built, _ = sql.instance(Identity, selected_row(Identity, identity.pk), 0)

    assert loaded_state(built) == loaded_state(Identity.objects.get(pk=identity.pk))
    assert built == identity


def test_an_instance_loads_deferred_fields_and_relations_and_saves(
    make_domain: Callable[..., Identity], account: Account
) -> None:
    identity = make_domain("loads.example.com")
    built, _ = sql.instance(Identity, selected_row(Identity, identity.pk, DETAIL), 0, DETAIL)

    assert built.created_at == identity.created_at  # deferred: one more query
    assert built.account == account
    built.feedback_forwarding_enabled = False
    built.save(update_fields=["feedback_forwarding_enabled"])

    assert Identity.objects.get(pk=identity.pk).feedback_forwarding_enabled is False


def test_an_init_receiver_still_sees_every_instance(region: Region) -> None:
    seen: list[Model] = []

    def receiver(sender: type[Model], instance: Model, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=Region)
    try:
        built, _ = sql.instance(Region, selected_row(Region, region.pk), 0)
    finally:
        post_init.disconnect(receiver, sender=Region)

    assert seen == [built]
    assert loaded_state(built) == loaded_state(Region.objects.get(pk=region.pk))


@isolate_apps("identities")
def test_a_model_with_its_own_loading_goes_through_from_db() -> None:
    class Tracked(models.Model):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "identities"

        def __str__(self) -> str:
            return self.name

        @classmethod
        def from_db(cls, db: str | None, field_names: Any, values: Any) -> Tracked:
            new = super().from_db(db, field_names, values)
            new.loaded_from_db = True  # type: ignore[attr-defined]
            return new

    tracked, _ = sql.instance(Tracked, (7, "x"), 0)

    assert getattr(tracked, "loaded_from_db", False) is True
    assert (tracked.pk, tracked.name) == (7, "x")


def _comparable(params: Sequence[Any]) -> list[Any]:
    # psycopg's JSON adapters have no equality of their own: compare what they wrap.
    return [getattr(value, "obj", value) for value in params]


def test_an_insert_statement_is_what_the_orm_compiler_writes(
    account: Account, region: Region
) -> None:
    from django.utils import timezone

    from sending.models import SentMessage

    message = SentMessage(
        account=account,
        region=region,
        message_id="0100-test",
        actor="tests",
        operation="SendRawEmail",
        from_header="Jo <jo@example.com>",
        from_address="jo@example.com",
        tags=[["campaign", "one"]],
        envelope_from="0100-test@amazonses.com",
        recipients=["a@example.com"],
        mime=b"Subject: x\r\n\r\nbody\x00\r\n",
        accepted_at=timezone.now(),
        simulator_outcomes={"success@simulator.amazonses.com": "success"},
    )
    text, params = sql.insert_statement(message)
    compiled_text, compiled_params = sql._compiled_insert(message)

    assert (text, _comparable(params)) == (compiled_text, _comparable(compiled_params))
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        sql.inserted(message, cursor.fetchall())
    stored = SentMessage.objects.get(pk=message.pk)
    assert (stored.tags, bytes(stored.mime), stored.simulator_outcomes) == (
        [["campaign", "one"]],
        b"Subject: x\r\n\r\nbody\x00\r\n",
        {"success@simulator.amazonses.com": "success"},
    )


def test_a_statement_compiled_once_and_bound_gives_the_orms_rows(
    account: Account, region: Region
) -> None:
    Identity.objects.bulk_create(
        Identity(account=account, region=region, name=name, identity_type="EMAIL_ADDRESS")
        for name in ("b@b.example", "a@a.example", "c@c.example", "a_b@a.example")
    )
    wanted, contains = sql.placeholder("after"), sql.placeholder("contains")
    compiled = sql.compiled_once(
        Identity.objects.filter(name__gt=wanted, name__icontains=Value(contains))
        .order_by("name")
        .values_list("identity_type", "name")
    )

    def rows(after: str, text: str) -> list[tuple[Any, ...]]:
        [found] = sql.run_together([sql.bind(compiled, {wanted: after, contains: text})])
        return found

    for after, text in (("a", "B.EX"), ("a@a.example", "example"), ("", "_")):
        orm = Identity.objects.filter(name__gt=after, name__icontains=text).order_by("name")
        assert rows(after, text) == list(orm.values_list("identity_type", "name"))
    assert [name for _, name in rows("", "_")] == ["a_b@a.example"]


def test_a_statement_with_a_converted_column_is_not_compiled_once() -> None:
    with pytest.raises(AssertionError, match="converted column"):
        sql.compiled_once(Identity.objects.values_list("name", "dkim_tokens"))
