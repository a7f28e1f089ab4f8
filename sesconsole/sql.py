"""Plain SQL from model metadata, for the few statements the ORM makes too slow.

Three hot paths write their own SQL: the API's reads (`api/reads.py`) and the identity limit's
count on every create (`identities/provisioning.py` `identity_count`), where Django compiling a
QuerySet costs more than the round trip, and the DNS sweep's bulk writes
(`identities/dns_check.py`: COPY instead of bulk_create). Inserts compiled once per model
(`insert_statement`, `insert_with_child`) let the send and the identity create send their rows
with their other statements in one round trip. Statements the ORM builds best (filters,
lookups) but a hot path runs on every request are compiled once with placeholders
(`compiled_once`, `bind`): the key's check of a send, a ListEmailIdentities page. The
per-request statements run through `prepared_cursor`, so PostgreSQL plans them once per
connection. Table and column names come from `_meta` here, so a migration that adds or
renames a field needs no change in those statements; every value stays a query parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, NamedTuple, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.sql.subqueries import InsertQuery
from psycopg import pq

M = TypeVar("M", bound=Model)


def prepared_cursor() -> CursorWrapper:
    """A cursor for a statement run on every request: on PostgreSQL it is prepared once per
    connection (`sesconsole.postgresql`); elsewhere an ordinary cursor (Python's sqlite3 keeps
    its own cache of compiled statements)."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


Statement = tuple[str, Sequence[Any]]  # SQL with %s placeholders, and its parameters


def compiled_once(queryset: QuerySet[Any]) -> Statement:
    """The SQL of `queryset` built with `placeholder` values, for a hot path to compile once
    (in a cached function) and `bind` on each call: compiling a QuerySet costs more than
    running a small statement. For a `values_list()` query it is only for columns the ORM
    converts nothing in: its rows are the driver's own, which the ORM would pass through
    its per-row pipeline (for a ListEmailIdentities page of 1,000, as long as the fetch
    itself: BENCHMARKS.md, "Eighth session")."""
    compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
    text, params = compiler.as_sql()
    assert not compiler.get_converters([e for e, _, _ in compiler.select]), "converted column"
    return text, tuple(params)


def placeholder(name: str) -> str:
    """A stand-in value for `compiled_once`: NUL is never in a real value of a text column
    (PostgreSQL's text refuses it), so `bind` cannot mistake one for it."""
    return f"\x00{name}"


def bind(compiled: Statement, values: dict[str, Any]) -> Statement:
    """`compiled`'s statement with each placeholder parameter replaced by its value."""
    text, params = compiled
    return text, [values.get(p, p) if isinstance(p, str) else p for p in params]


def run_together(statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Run `statements` in order in one round trip where the database allows it, and return
    each one's rows (none for a write without RETURNING).

    On PostgreSQL with Django's client-side binding (its default), the statements go as one
    simple-protocol query. Under READ COMMITTED each statement of it still takes its own
    snapshot, so a read that follows a row lock sees what the lock waited for, exactly as two
    separate executes would. Elsewhere (SQLite, server-side binding) one execute each.
    """
    with connection.cursor() as cursor:
        return _run(cursor, statements)


def run_in_one_transaction(statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """`run_together`, all or nothing: committed when it returns, or part of the transaction
    the caller holds open.

    Outside a transaction on PostgreSQL the statements' one query is a transaction of its own:
    the server runs a query of several statements as one implicit transaction and commits it
    before it answers (PostgreSQL's protocol, "Multiple Statements in a Simple Query"). That
    spares the BEGIN and COMMIT round trips of `transaction.atomic()` (BENCHMARKS.md, issue
    16). Otherwise, and inside a caller's transaction, in `transaction.atomic()`.
    """
    with _own_transaction_cursor() as cursor:
        if cursor is not None:
            return _run(cursor, statements)
    with transaction.atomic():
        return run_together(statements)


def run_in_one_statement(writes: Sequence[Statement], last: Statement) -> list[tuple[Any, ...]]:
    """`writes` (INSERT, UPDATE or DELETE without RETURNING) and then `last`, all or nothing,
    and `last`'s rows: committed when it returns, or part of the transaction the caller holds.

    On PostgreSQL they go as ONE statement, the writes as data-modifying WITH clauses, which
    PostgreSQL runs exactly once and to completion whether or not the statement reads them
    ("Data-Modifying Statements in WITH"). One statement can be prepared (`prepared_cursor`):
    planned once per connection instead of on every call, and its values bound on the server,
    so a message's MIME goes as binary rather than escaped into the text. For the send's usage
    counter and message INSERT that took 0.59-0.76 ms a call against 0.80-0.83 ms as one query
    of two statements (`run_in_one_transaction`), with a third less CPU in this process
    (BENCHMARKS.md, "Eleventh session: the SMTP server").

    All parts see the same snapshot: none may read what another writes, and two may not
    write the same row. Elsewhere (SQLite has no writes in WITH) `run_in_one_transaction`.
    """
    if connection.vendor != "postgresql":
        return run_in_one_transaction([*writes, last])[-1]
    clauses = ", ".join(f"_write{n} AS ({text})" for n, (text, _) in enumerate(writes))
    text = f"WITH {clauses} {last[0]}" if writes else last[0]
    params = [value for _, values in (*writes, last) for value in values]
    with prepared_cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall() if cursor.description else []


class TwoQueries:
    """The two queries of `transaction_in_two_queries`: `first` once, then `last` once."""

    def __init__(self, cursor: CursorWrapper | None) -> None:
        self._cursor = cursor  # None: inside transaction.atomic(), which begins and commits
        self.reached_last = False

    def first(self, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        """Begin the transaction and run `statements` (`run_together`), in one round trip.
        With no statements it only begins, for a caller whose next writes go through the ORM."""
        if self._cursor is None:
            return run_together(statements) if statements else []
        return _run(self._cursor, [("BEGIN", []), *statements])[1:]

    def last(self, statements: Sequence[Statement] = ()) -> list[list[tuple[Any, ...]]]:
        """Run `statements` and commit, in one round trip (the caller's transaction commits
        them when it holds one). With no statements it only commits."""
        self.reached_last = True
        if self._cursor is None:
            return run_together(statements) if statements else []
        return _run(self._cursor, [*statements, ("COMMIT", [])])[:-1]


@contextmanager
def transaction_in_two_queries() -> Iterator[TwoQueries]:
    """A transaction that takes two round trips where `transaction.atomic()` takes four: its
    BEGIN goes in the query of its first statements (a row lock and what it guards), its
    COMMIT in the query of its last (the writes). The caller decides between the two in
    Python. An exception in the block (a refusal, a database error) rolls back: no transaction
    is left open and no row locked.

    It uses PostgreSQL's protocol: a BEGIN in a query of several statements turns the query's
    implicit transaction into one that stays open after the answer, until a COMMIT or ROLLBACK
    ("Multiple Statements in a Simple Query"). Django still sees autocommit on, which is true
    again once the block ends; so nothing between the two may enter `transaction.atomic()`
    (psycopg refuses to leave autocommit inside a transaction). Inside a caller's transaction,
    and where several statements do not go as one query (SQLite, server-side binding), it is
    `transaction.atomic()` with a `run_together` for each.
    """
    with _own_transaction_cursor() as cursor:
        if cursor is not None:
            try:
                yield TwoQueries(cursor)
            finally:
                _end_open_transaction(cursor)
            return
    with transaction.atomic():
        two_queries = TwoQueries(None)
        yield two_queries
        if not two_queries.reached_last:
            # As on the own-transaction path: a block that never reaches `last` keeps nothing.
            transaction.set_rollback(True)


@contextmanager
def _own_transaction_cursor() -> Iterator[CursorWrapper | None]:
    """A cursor whose query of several statements PostgreSQL runs as a transaction of its own;
    None inside a caller's transaction, or where statements go one per query (`_one_query`)."""
    if not connection.get_autocommit() or connection.in_atomic_block:
        yield None
        return
    with connection.cursor() as cursor:
        yield cursor if _one_query(cursor) else None


def _end_open_transaction(cursor: CursorWrapper) -> None:
    """Roll back what `transaction_in_two_queries` left open: after an exception, or a block
    that never reached `last`. Nothing to send after a COMMIT, even one that failed (a deferred
    foreign key): the server has ended the transaction either way."""
    status = cursor.cursor.connection.info.transaction_status
    if status not in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        return
    try:
        cursor.execute("ROLLBACK")
    except DatabaseError:
        # The connection is broken; closing it ends the transaction on the server too (if the
        # server is still there), and Django opens a new one for the next query.
        connection.close()


def _one_query(cursor: CursorWrapper) -> bool:
    """Whether `cursor` takes several statements in one query: PostgreSQL with Django's
    client-side binding (server-side binding takes one statement per query)."""
    return connection.vendor == "postgresql" and isinstance(cursor.cursor, psycopg.ClientCursor)


def _run(cursor: CursorWrapper, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    if _one_query(cursor):
        cursor.execute(
            "; ".join(sql for sql, _ in statements),
            [value for _, params in statements for value in params],
        )
        results = []
        while True:
            results.append(_rows(cursor.cursor))
            if not cursor.nextset():
                return results
    results = []
    for sql, params in statements:
        cursor.execute(sql, params)
        results.append(cursor.fetchall() if cursor.description else [])
    return results


def _rows(cursor: psycopg.ClientCursor[Any]) -> list[tuple[Any, ...]]:
    """The current result's rows; none for a statement without any. Asked of the result's
    status: `cursor.description` builds a Column object per column, ~80 per send."""
    result = cursor.pgresult
    returned_rows = result is not None and result.status == pq.ExecStatus.TUPLES_OK
    return cursor.fetchall() if returned_rows else []


def insert_statement(instance: Model) -> Statement:
    """The INSERT ... RETURNING pk that `instance.save()` would run for a new row, for a caller
    that runs it with other statements; `inserted` records the answer. Unlike save(), no
    pre_save/post_save signal is sent: use it for models nothing listens to.

    The statement's text is compiled once per model by the ORM's insert compiler; the values
    go through the same field methods the compiler calls (pre_save, then get_db_prep_save).
    Compiling on every send cost about a tenth of an SMTP send's CPU (BENCHMARKS.md, issue 16).
    """
    compiled = _insert_sql(type(instance))
    if compiled is None:
        return _compiled_insert(instance)
    text, fields = compiled
    params = _prepared_values(instance, fields)
    if params is None:
        return _compiled_insert(instance)
    return text, params


def _prepared_values(instance: Model, fields: list[Any]) -> list[Any] | None:
    """The values of `fields` as the insert compiler prepares them (pre_save, then
    get_db_prep_save); None when one is an expression, which the compiler writes into the
    statement's text."""
    values = [field.pre_save(instance, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        return None
    db = connections[DEFAULT_DB_ALIAS]
    return [
        field.get_db_prep_save(value, connection=db)
        for field, value in zip(fields, values, strict=True)
    ]


def _compiled_insert(instance: Model) -> Statement:
    """What the ORM's insert compiler writes for `instance`, with its values."""
    model = type(instance)
    meta = model._meta
    query = InsertQuery(model)
    query.insert_values(_inserted_fields(model), [instance])
    compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
    compiler.returning_fields = [meta.pk]
    [(statement, params)] = compiler.as_sql()
    return statement, list(params)


def _inserted_fields(model: type[Model]) -> list[Any]:
    meta = model._meta
    return [field for field in meta.local_concrete_fields if field is not meta.auto_field]


@cache
def _insert_sql(model: type[Model]) -> tuple[str, list[Any]] | None:
    """The compiled text and its fields; None when a field's placeholder is not a plain %s on
    this database (BinaryField on Oracle, GIS fields), which the compiler writes per value."""
    fields = _inserted_fields(model)
    for field in fields:
        if (
            hasattr(field, "get_placeholder")
            and field.get_placeholder(None, None, connection) != "%s"
        ):
            return None
    text, _ = _compiled_insert(model())
    return text, fields


def inserted(instance: Model, rows: list[tuple[Any, ...]]) -> None:
    """Give `instance` the primary key `insert_statement`'s INSERT returned, as save() does."""
    [(pk,)] = rows
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS


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
    row[offset], and the next offset. Fields left out are deferred, loaded on first access.

    Built by `Model.from_db`, as the ORM builds it (signals, a model's own from_db, field
    descriptors all apply). Building instances by hand instead saved about 11 µs of a ~1 ms
    API call (issue 13): too little for a second way to load a model, unless bench/api.py
    shows it beyond its run-to-run noise (BENCHMARKS.md)."""
    loading = _loading(model, None if names is None else tuple(names))
    end = offset + len(loading.selected)
    db = connections[DEFAULT_DB_ALIAS]  # once, not through the `connection` proxy per value
    values: Sequence[Any] = row[offset:end]
    if loading.converters:
        values = list(values)
        for index, convert, col in loading.converters:
            values[index] = convert(values[index], col, db)
    # `_fields` keeps the model's order, which from_db expects of a partial row.
    return model.from_db(db.alias, loading.selected, values), end


def field_values(instance: Model, names: Sequence[str]) -> tuple[Any, ...]:
    """The values of `instance`'s fields `names` (loaded ones), as `rebuilt` takes them: a
    tuple a process may keep where keeping the instance itself would share a mutable object
    between requests."""
    loading = _loading(type(instance), tuple(names))
    return tuple(getattr(instance, attname) for attname in loading.selected)


def rebuilt(model: type[M], names: Sequence[str], values: Sequence[Any]) -> M:
    """The instance whose `field_values` these are, built as the ORM builds a loaded one
    (`Model.from_db`); its other fields are deferred, loaded on first access."""
    loading = _loading(model, tuple(names))
    return model.from_db(DEFAULT_DB_ALIAS, loading.selected, list(values))


def _fields(model: type[Model], names: Sequence[str] | None) -> list[Any]:
    """The concrete fields named (all of them when `names` is None), in the model's order, as
    Model.from_db expects the values of a partial row."""
    fields = model._meta.concrete_fields
    if names is None:
        return list(fields)
    wanted = {model._meta.get_field(name).name for name in names}
    return [field for field in fields if field.name in wanted]


class _Loading(NamedTuple):
    selected: list[str]  # the selected fields' attnames, in the model's order
    converters: list[tuple[int, Any, Any]]  # (index among the selected, converter, column)


@cache
def _loading(model: type[Model], names: tuple[str, ...] | None) -> _Loading:
    """Which values a row holds for `model`, with the converters the ORM would apply to them
    from this database (SQLite's booleans and datetimes, JSON...)."""
    selected = _fields(model, names)
    converters = []
    for index, field in enumerate(selected):
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((index, convert, col))
    return _Loading(selected=[field.attname for field in selected], converters=converters)


def insert_with_child(parent: Model, child: Model, link: str) -> Statement | None:
    """One INSERT statement for a new `parent` and a new `child` whose foreign key `link` is
    the parent's new primary key: `WITH parent AS (INSERT ... RETURNING pk) INSERT INTO child
    ... VALUES (..., (SELECT pk FROM parent), ...) RETURNING child pk, link`. Unlike save(), no
    pre_save/post_save signal is sent (see `insert_statement`); `inserted_with_child` records
    the answer.

    None where the database has no data-modifying WITH (only PostgreSQL has it), or when a
    value is an expression compiled into the text: the caller then saves each one.
    """
    if connection.vendor != "postgresql":
        return None
    parent_sql, parent_params = insert_statement(parent)
    child_model = type(child)
    compiled = _insert_sql(child_model)
    if compiled is None:
        return None
    _, fields = compiled
    link_field = child_model._meta.get_field(link)
    child_params = _prepared_values(child, [field for field in fields if field is not link_field])
    if child_params is None:
        return None
    parent_pk = quote(str(type(parent)._meta.pk.column))  # type: ignore[union-attr]
    child_sql = _child_insert_sql(child_model, link_field.name, parent_pk)
    return f"WITH new_parent AS ({parent_sql}) {child_sql}", [*parent_params, *child_params]


@cache
def _child_insert_sql(model: type[Model], link: str, parent_pk: str) -> str:
    meta = model._meta
    fields = _inserted_fields(model)
    link_field = meta.get_field(link)
    parent_key = f"(SELECT {parent_pk} FROM new_parent)"  # noqa: S608 (names from _meta only)
    placeholders = [parent_key if field is link_field else "%s" for field in fields]
    pk = f"{table(model)}.{quote(str(meta.pk.column))}"  # type: ignore[union-attr]
    link_column = f"{table(model)}.{quote(str(link_field.column))}"  # type: ignore[union-attr]
    return (
        f"INSERT INTO {table(model)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608 (names from _meta only)
        f"VALUES ({', '.join(placeholders)}) RETURNING {pk}, {link_column}"
    )


def inserted_with_child(
    parent: Model, child: Model, link: str, rows: list[tuple[Any, ...]]
) -> None:
    """Give `parent` and `child` the primary keys `insert_with_child`'s INSERT returned."""
    [(child_pk, parent_pk)] = rows
    inserted(parent, [(parent_pk,)])
    inserted(child, [(child_pk,)])
    setattr(child, child._meta.get_field(link).attname, parent_pk)  # type: ignore[union-attr]
