"""Plain SQL from model metadata, for the few statements the ORM makes too slow.

Two hot paths write their own SQL: the API's reads (`api/reads.py`: Django compiling a QuerySet
costs more than the round trip) and the DNS sweep's bulk writes (`identities/dns_check.py`:
COPY instead of bulk_create). Table and column names come from `_meta` here, so a migration
that adds or renames a field needs no change in those statements; every value stays a query
parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

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
    return len(_loading(model, None if names is None else tuple(names))[0])


def instance(
    model: type[M], row: tuple[Any, ...], offset: int, names: Sequence[str] | None = None
) -> tuple[M, int]:
    """The model instance whose fields (`names`, or all; selected with `columns`) start at
    row[offset], and the next offset. Fields left out are deferred, loaded on first access."""
    attnames, converters = _loading(model, None if names is None else tuple(names))
    values = list(row[offset : offset + len(attnames)])
    for index, convert, col in converters:
        values[index] = convert(values[index], col, connection)
    return model.from_db(connection.alias, attnames, values), offset + len(attnames)


def _fields(model: type[Model], names: Sequence[str] | None) -> list[Any]:
    """The concrete fields named (all of them when `names` is None), in the model's order, as
    Model.from_db expects the values of a partial row."""
    fields = model._meta.concrete_fields
    if names is None:
        return list(fields)
    wanted = {model._meta.get_field(name).name for name in names}
    return [field for field in fields if field.name in wanted]


@cache
def _loading(
    model: type[Model], names: tuple[str, ...] | None
) -> tuple[list[str], list[tuple[int, Any, Any]]]:
    """The attribute names of the fields, and the converters the ORM would apply to their
    values from this database (SQLite's booleans and datetimes, JSON decoding...)."""
    attnames, converters = [], []
    for index, field in enumerate(_fields(model, names)):
        attnames.append(field.attname)
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((index, convert, col))
    return attnames, converters
