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

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import DEFERRED, Field, Model

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
    return len(_loading(model, None if names is None else tuple(names)).positions)


def instance(
    model: type[M], row: tuple[Any, ...], offset: int, names: Sequence[str] | None = None
) -> tuple[M, int]:
    """The model instance whose fields (`names`, or all; selected with `columns`) start at
    row[offset], and the next offset. Fields left out are deferred, loaded on first access."""
    loading = _loading(model, None if names is None else tuple(names))
    end = offset + len(loading.positions)
    db = connections[DEFAULT_DB_ALIAS]  # once, not through the `connection` proxy per value
    if len(loading.positions) == len(loading.attnames):
        values = list(row[offset:end])
    else:
        # A value for every concrete field, DEFERRED for those not selected: what from_db builds
        # from a partial row, without its search of the names list for each field.
        values = [DEFERRED] * len(loading.attnames)
        for position, value in zip(loading.positions, row[offset:end], strict=True):
            values[position] = value
    for position, convert, col in loading.converters:
        values[position] = convert(values[position], col, db)
    return model.from_db(db.alias, loading.attnames, values), end


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
    positions: list[int]  # where each selected value goes among them
    converters: list[tuple[int, Any, Any]]  # (position, converter, column)


@cache
def _loading(model: type[Model], names: tuple[str, ...] | None) -> _Loading:
    """How to turn the selected values into a row for Model.from_db, with the converters the
    ORM would apply to them from this database (SQLite's booleans and datetimes, JSON...)."""
    concrete = list(model._meta.concrete_fields)
    positions, converters = [], []
    for field in _fields(model, names):
        position = concrete.index(field)
        positions.append(position)
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((position, convert, col))
    return _Loading([field.attname for field in concrete], positions, converters)
