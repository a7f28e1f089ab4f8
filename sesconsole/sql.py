"""Plain SQL from model metadata, for the few statements the ORM makes too slow.

Three hot paths write their own SQL: the API's reads (`api/reads.py`) and the identity limit's
count on every create (`identities/provisioning.py` `identity_count`), where Django compiling a
QuerySet costs more than the round trip, and the DNS sweep's bulk writes
(`identities/dns_check.py`: COPY instead of bulk_create). The per-request statements run through
`prepared_cursor`, so PostgreSQL plans them once per connection. Table and column names come
from `_meta` here, so a migration that adds or renames a field needs no change in those
statements; every value stays a query parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import DEFERRED, Field, Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)


def prepared_cursor() -> CursorWrapper:
    """A cursor for a statement run on every request: on PostgreSQL it is prepared once per
    connection (`sesconsole.postgresql`); elsewhere an ordinary cursor (Python's sqlite3 keeps
    its own cache of compiled statements)."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def column(model: type[Model], field_name: str) -> str:
    """The quoted column of a concrete field (a reverse relation has none)."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, Field)
    return quote(str(field.column))


def columns(model: type[Model], alias: str, names: Sequence[str] | None = None) -> str:
    """`alias.column, ...` for the fields `instance` reads back, in the model's order."""
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in _fields(model, names))


def width(model: type[Model], names: Sequence[str] | None = None) -> int:
    """How many values `columns` selects for these fields."""
    return len(_loading(model, None if names is None else tuple(names)).selected)


def instance(
    model: type[M], row: tuple[Any, ...], offset: int, names: Sequence[str] | None = None
) -> tuple[M, int]:
    """The model instance whose fields (`names`, or all; selected with `columns`) start at
    row[offset], and the next offset. Fields left out are deferred, loaded on first access."""
    loading = _loading(model, None if names is None else tuple(names))
    end = offset + len(loading.selected)
    db = connections[DEFAULT_DB_ALIAS]  # once, not through the `connection` proxy per value
    values: Sequence[Any] = row[offset:end]
    if loading.converters:
        values = list(values)
        for index, convert, col in loading.converters:
            values[index] = convert(values[index], col, db)
    if loading.plain and not (pre_init.receivers or post_init.receivers):
        return _loaded(model, db.alias, loading.selected, values), end
    # A value for every concrete field, DEFERRED for those not selected: what from_db builds
    # from a partial row, without its search of the names list for each field.
    full: list[Any] = [DEFERRED] * len(loading.attnames)
    for position, value in zip(loading.positions, values, strict=True):
        full[position] = value
    return model.from_db(db.alias, loading.attnames, full), end


def _loaded(model: type[M], alias: str, attnames: Sequence[str], values: Sequence[Any]) -> M:
    """What `model.from_db(alias, ...)` returns for these values, built without Model.__init__.

    For a model that keeps Django's `__init__` and `from_db` and whose fields use Django's
    plain attribute descriptors (`_Loading.plain`), and with no pre_init/post_init receivers,
    `__init__` only stores each value in the instance's `__dict__` (the descriptors have
    nothing to do on a new instance) under a fresh ModelState. Doing that directly matters on
    the API's per-call read: its four instances and the identity's detail took 17 µs instead of
    28 µs (in-process, PostgreSQL).
    """
    new = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    new.__dict__.update(zip(attnames, values, strict=True), _state=state)
    return new


def _fields(model: type[Model], names: Sequence[str] | None) -> list[Any]:
    """The concrete fields named (all of them when `names` is None), in the model's order, as
    Model.from_db expects the values of a partial row."""
    fields = model._meta.concrete_fields
    if names is None:
        return list(fields)
    wanted = {model._meta.get_field(name).name for name in names}
    return [field for field in fields if field.name in wanted]


class _Loading(NamedTuple):
    attnames: list[str]  # every concrete field's, in the model's order
    selected: list[str]  # the selected fields' attnames, in the row's order
    positions: list[int]  # where each selected value goes among `attnames`
    converters: list[tuple[int, Any, Any]]  # (index among the selected, converter, column)
    plain: bool  # whether `_loaded` may build instances (see there)


@cache
def _loading(model: type[Model], names: tuple[str, ...] | None) -> _Loading:
    """How to turn the selected values into a model instance, with the converters the ORM
    would apply to them from this database (SQLite's booleans and datetimes, JSON...)."""
    concrete = list(model._meta.concrete_fields)
    selected = _fields(model, names)
    converters = []
    for index, field in enumerate(selected):
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((index, convert, col))
    return _Loading(
        attnames=[field.attname for field in concrete],
        selected=[field.attname for field in selected],
        positions=[concrete.index(field) for field in selected],
        converters=converters,
        plain=_is_plain(model),
    )


def _is_plain(model: type[Model]) -> bool:
    """Whether loading an instance of `model` is only storing values (`_loaded`): Django's own
    `__init__` and `from_db`, and on every field the descriptor that does nothing more on a
    new instance (a FileField's or a custom field's descriptor may do more)."""
    return (
        model.__init__ is Model.__init__  # type: ignore[misc]
        and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
        and all(
            type(inspect.getattr_static(model, field.attname, None)) in _PLAIN_DESCRIPTORS
            for field in model._meta.concrete_fields
        )
    )


_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)
