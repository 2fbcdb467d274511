"""Many rows of one table in one statement, through the driver's executemany.

    await insert_many(session, Execution.__table__, rows)   # rows: dicts with the same keys
    await upsert_many(session, Execution.__table__, rows)   # the same, or set what is stored
    await update_many(session, NodeExecution.__table__, rows)   # by primary key (`id`)
    await insert_many(session, DagRun.__table__, [entity_row(run)])   # a new ORM object's row
    await insert_many(session, table, rows, same={"updated_at": now})   # one value, every row
    await insert_together(session, [Batch(runs, [run]), Batch(nodes, node_rows, same)])

SQLAlchemy's executemany builds and converts each row's parameters one by one, which for a DAG
run's thousands of rows costs more than the database's work. Here the statement is compiled once
per (dialect, table, keys), each column's own bind conversion (SQLAlchemy's, for that dialect) is
looked up once, and the rows go to the driver as tuples. Every row must carry every column the
statement sets: no Python defaults are applied.

On PostgreSQL the rows go as one array per column in a single statement (`INSERT ... SELECT FROM
unnest($1::uuid[], ...)`, `UPDATE ... FROM unnest(...)`): one round trip and one plan, where
executemany binds and executes the statement once per row. For 1,000 execution rows that is
53 ms against 60 (median of 11, same connection): most of the time is PostgreSQL's own (eight
indexes and five JSONB columns per row). A column in `same` goes as one value, not as an array
of a thousand copies for the driver to encode and PostgreSQL to decode.

`insert_together` writes several tables' rows in one round trip on PostgreSQL: each table's
INSERT is a data-modifying CTE of one statement (a row may reference a row of a table written
after it: foreign keys are checked at the end of the statement). SQLite has no such statement;
there each table's INSERT runs in turn, in the order given, and the statements are sent to
SQLite with the next one that is answered, or with the commit (`engine.SENT_WITH_NEXT`): nothing
reads their results, and an error they raise is raised by the transaction all the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import Column, Table, bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.sql.sqltypes import NullType

from dspex_gql.db.engine import SENT_WITH_NEXT

Row = Mapping[str, Any]
Keys = tuple[str, ...]
EMPTY: Row = MappingProxyType({})
Processor = Callable[[Any], Any] | None
KEY = "_key"
"""The bind name of the primary key in an UPDATE (a column's own name is taken by its SET)."""


@dataclass(frozen=True)
class _Prepared:
    sql: str
    keys: Keys
    """The row key of each positional parameter, in order."""
    processors: tuple[Processor, ...]
    by_column: bool = False
    """One parameter per column, the list of every row's value (`unnest`), not one per row;
    a column in `same` is one parameter of its one value."""

    def parameters(self, rows: Sequence[Row], same: Row) -> Any:
        """Converted column by column (a value in `same` once for all rows); zipped into one
        tuple per row unless `by_column`."""
        count = len(rows)
        columns = [
            _column(rows, key, process)
            if key not in same
            else _converted(same[key], process)
            if self.by_column
            else [_converted(same[key], process)] * count
            for key, process in zip(self.keys, self.processors, strict=True)
        ]
        return tuple(columns) if self.by_column else list(zip(*columns, strict=True))


class Batch(NamedTuple):
    """Rows of one table, with the columns whose one value they all have (`same`)."""

    table: Table
    rows: Sequence[Row]
    same: Row = EMPTY

    @property
    def shape(self) -> tuple[Keys, Keys]:
        return tuple(self.rows[0]), tuple(self.same)


def _column(rows: Sequence[Row], key: str, process: Processor) -> list[Any]:
    if process is None:
        return [row[key] for row in rows]
    return [process(row[key]) for row in rows]


def _converted(value: Any, process: Processor) -> Any:
    return value if process is None else process(value)


async def insert_many(
    session: AsyncSession, table: Table, rows: Sequence[Row], same: Row = EMPTY
) -> None:
    """`same`: columns with one value for every row, converted once."""
    if rows:
        prepared = _insert_of(_dialect(session), table, tuple(rows[0]), tuple(same))
        await _execute(session, prepared, rows, same)


async def insert_together(session: AsyncSession, batches: Sequence[Batch]) -> None:
    """Each batch's rows inserted, in one statement on PostgreSQL (in turn on SQLite)."""
    batches = [batch for batch in batches if batch.rows]
    dialect = _dialect(session)
    if dialect.name != "postgresql" or len(batches) < 2:
        for batch in batches:
            await insert_many(session, batch.table, batch.rows, batch.same)
        return
    sql, prepared = _together_of(dialect, tuple((batch.table, *batch.shape) for batch in batches))
    parameters = []
    for each, batch in zip(prepared, batches, strict=True):
        parameters += each.parameters(batch.rows, batch.same)
    connection = await session.connection()
    await connection.exec_driver_sql(sql, tuple(parameters))


async def upsert_many(
    session: AsyncSession, table: Table, rows: Sequence[Row], same: Row = EMPTY
) -> None:
    """Insert each row, or where its `id` is stored already, set its other columns: a write
    retried after a commit whose answer was lost (the rows are there) stores the same again."""
    if rows:
        prepared = _upsert_of(_dialect(session), table, tuple(rows[0]), tuple(same))
        await _execute(session, prepared, rows, same)


async def update_many(
    session: AsyncSession, table: Table, rows: Sequence[Row], same: Row = EMPTY
) -> None:
    """By primary key: each row's `id` picks the row, its other keys are the columns set."""
    if rows:
        prepared = _update_of(_dialect(session), table, tuple(rows[0]), tuple(same))
        await _execute(session, prepared, rows, same)


def entity_row(entity: object) -> dict[str, Any]:
    """The row a flush would insert for a new ORM `entity`, by column name: an attribute never set
    takes its column's Python default, which is set on the entity too (so it reads as stored)."""
    state = sa_inspect(entity)
    row = {}
    for attribute in state.mapper.column_attrs:
        column = attribute.columns[0]
        if attribute.key not in state.dict and column.default is not None:
            setattr(entity, attribute.key, _value_of(column.default))
        row[column.name] = getattr(entity, attribute.key)
    return row


def _value_of(default: Any) -> Any:
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy's wrapper of a function that takes no context
    raise TypeError(f"a default computed in SQL has no value before the INSERT: {default!r}")


async def _execute(
    session: AsyncSession, prepared: _Prepared, rows: Sequence[Row], same: Row
) -> None:
    connection = await session.connection()
    parameters = prepared.parameters(rows, same)
    await connection.exec_driver_sql(prepared.sql, parameters, execution_options=SENT_WITH_NEXT)


def _dialect(session: AsyncSession) -> Dialect:
    bind = session.get_bind()
    return bind.dialect


@lru_cache(maxsize=64)
def _insert_of(
    dialect: Dialect, table: Table, varying: Keys, alike: Keys = (), first: int = 1
) -> _Prepared:
    """`varying`: the keys of each row; `alike`: those of `same`. `first`: the number of the
    first parameter (PostgreSQL's `$n`)."""
    keys = (*varying, *alike)
    if dialect.name == "postgresql":
        columns = ", ".join(_quoted(dialect, key) for key in keys)
        values = ", ".join(["*", *_scalars(dialect, table, alike, first + len(varying))])
        name, unnest = _quoted(dialect, table.name), _unnest(dialect, table, varying, first)
        sql = f"INSERT INTO {name} ({columns}) SELECT {values} FROM {unnest}"
        return _by_column(dialect, table, keys, sql)
    statement = insert(table).values({key: bindparam(key) for key in keys})
    return _prepare(dialect, statement, {key: key for key in keys}, table)


@lru_cache(maxsize=64)
def _together_of(
    dialect: Dialect, shapes: tuple[tuple[Table, Keys, Keys], ...]
) -> tuple[str, tuple[_Prepared, ...]]:
    """One statement of every table's INSERT (all but the last as CTEs), and each INSERT, its
    parameters numbered on from the previous one's."""
    prepared, first = [], 1
    for table, varying, alike in shapes:
        prepared.append(_insert_of(dialect, table, varying, alike, first))
        first += len(varying) + len(alike)
    *earlier, last = prepared
    ctes = ", ".join(f"written_{index} AS ({each.sql})" for index, each in enumerate(earlier))
    return f"WITH {ctes} {last.sql}", tuple(prepared)


@lru_cache(maxsize=64)
def _upsert_of(dialect: Dialect, table: Table, varying: Keys, alike: Keys) -> _Prepared:
    inserted = _insert_of(dialect, table, varying, alike)
    sets = ", ".join(
        f"{_quoted(dialect, key)} = excluded.{_quoted(dialect, key)}"
        for key in inserted.keys
        if key != "id"
    )
    upsert = f"{inserted.sql} ON CONFLICT (id) DO UPDATE SET {sets}"
    return dataclasses.replace(inserted, sql=upsert)


@lru_cache(maxsize=64)
def _update_of(dialect: Dialect, table: Table, varying: Keys, alike: Keys) -> _Prepared:
    columns = [key for key in varying if key != "id"]
    if dialect.name == "postgresql":
        name = _quoted(dialect, table.name)
        ordered = ("id", *columns)
        scalars = _scalars(dialect, table, alike, len(ordered) + 1)
        values = [f"v.{_quoted(dialect, key)}" for key in columns] + scalars
        sets = ", ".join(
            f"{_quoted(dialect, key)} = {value}"
            for key, value in zip((*columns, *alike), values, strict=True)
        )
        aliases = ", ".join(_quoted(dialect, key) for key in ordered)
        sql = (
            f"UPDATE {name} SET {sets} FROM {_unnest(dialect, table, ordered)} AS v({aliases})"
            f" WHERE {name}.id = v.id"
        )
        return _by_column(dialect, table, (*ordered, *alike), sql)
    statement = (
        update(table)
        .where(table.c.id == bindparam(KEY))
        .values({key: bindparam(key) for key in (*columns, *alike)})
    )
    names = {KEY: "id"} | {key: key for key in (*columns, *alike)}
    return _prepare(dialect, statement, names, table)


def _prepare(
    dialect: Dialect, statement: ClauseElement, row_key_of: dict[str, str], table: Table
) -> _Prepared:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = compiled.positiontup or []
    keys = tuple(row_key_of[name] for name in names)
    return _Prepared(compiled.string, keys, _processors(dialect, table, keys))


def _by_column(dialect: Dialect, table: Table, keys: Keys, sql: str) -> _Prepared:
    return _Prepared(sql, keys, _processors(dialect, table, keys), by_column=True)


def _unnest(dialect: Dialect, table: Table, keys: Keys, first: int = 1) -> str:
    arrays = (f"${i}::{_sql_type(dialect, table.c[key])}[]" for i, key in enumerate(keys, first))
    return f"unnest({', '.join(arrays)})"


def _scalars(dialect: Dialect, table: Table, keys: Keys, first: int) -> list[str]:
    return [f"${i}::{_sql_type(dialect, table.c[key])}" for i, key in enumerate(keys, first)]


def _sql_type(dialect: Dialect, column: Column[Any]) -> str:
    """The column's type in SQL; a foreign key without a type of its own has its target's."""
    type_ = column.type
    if isinstance(type_, NullType) and column.foreign_keys:
        type_ = next(iter(column.foreign_keys)).column.type
    return dialect.type_compiler_instance.process(type_)


def _quoted(dialect: Dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)


def _processors(dialect: Dialect, table: Table, keys: Keys) -> tuple[Processor, ...]:
    return tuple(table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys)
