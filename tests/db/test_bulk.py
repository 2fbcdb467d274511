"""Rows written by the driver's executemany (`db/bulk.py`) read back as SQLAlchemy wrote them."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    event,
    func,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.base import JSONValue, UTCDateTime
from dspex_gql.db.bulk import (
    Batch,
    entity_row,
    insert_many,
    insert_together,
    update_many,
    upsert_many,
)
from dspex_gql.db.engine import create_engine


class Colour(enum.StrEnum):
    RED = "RED"
    BLUE = "BLUE"


def scratch_table() -> Table:
    return Table(
        f"bulk_{uuid.uuid4().hex[:10]}",
        MetaData(),
        Column("id", Uuid, primary_key=True),
        Column("name", String(50)),
        Column("colour", Enum(Colour, native_enum=False, length=10)),
        Column("count", Integer),
        Column("score", Float),
        Column("data", JSONValue),
        Column("at", UTCDateTime),
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def table(engine: AsyncEngine) -> AsyncIterator[Table]:
    table = scratch_table()
    async with engine.begin() as connection:
        await connection.run_sync(table.create)
    yield table
    async with engine.begin() as connection:
        await connection.run_sync(table.drop)


def sample(index: int) -> dict[str, Any]:
    moment = datetime(2026, 12, 4, 18, 30, index % 60, (index * 7919) % 1_000_000, tzinfo=UTC)
    return {
        "id": uuid.uuid4(),
        "name": f"row {index}",
        "colour": Colour.RED if index % 2 else Colour.BLUE,
        "count": index,
        "score": index / 3,
        "data": {"index": index, "items": [index, None, "x"], "nested": {"ok": True}},
        "at": moment,
    }


@pytest.fixture
async def family(engine: AsyncEngine) -> AsyncIterator[tuple[Table, Table]]:
    """A table and one whose rows reference it (`parent_id`)."""
    parent = scratch_table()
    child = Table(
        f"bulk_child_{uuid.uuid4().hex[:10]}",
        parent.metadata,
        Column("id", Uuid, primary_key=True),
        Column("parent_id", Uuid, ForeignKey(parent.c.id), nullable=False),
        Column("data", JSONValue),
    )
    async with engine.begin() as connection:
        await connection.run_sync(parent.metadata.create_all)
    yield parent, child
    async with engine.begin() as connection:
        await connection.run_sync(parent.metadata.drop_all)


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements the engine runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def stored(engine: AsyncEngine, table: Table) -> dict[uuid.UUID, dict[str, Any]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(table))).mappings()
        return {row["id"]: dict(row) for row in rows}


async def test_inserted_rows_read_back_unchanged(engine: AsyncEngine, table: Table) -> None:
    rows = [sample(index) for index in range(200)]
    rows[0] |= {"name": None, "data": None, "at": None, "score": None}
    rows[1]["at"] = datetime(2026, 12, 4, 20, 0, tzinfo=timezone(timedelta(hours=2)))
    rows[2]["at"] = datetime(1, 1, 1, tzinfo=UTC)
    async with AsyncSession(engine) as session, session.begin():
        await insert_many(session, table, rows)

    found = await stored(engine, table)

    assert found == {row["id"]: row for row in rows}
    assert found[rows[1]["id"]]["at"].utcoffset() == timedelta(0)


async def test_updates_change_only_the_rows_and_columns_given(
    engine: AsyncEngine, table: Table
) -> None:
    rows = [sample(index) for index in range(20)]
    async with AsyncSession(engine) as session, session.begin():
        await insert_many(session, table, rows)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    changes = [
        {"id": row["id"], "count": -1, "data": {"changed": True}, "at": later} for row in rows[:5]
    ]

    async with AsyncSession(engine) as session, session.begin():
        await update_many(session, table, changes)

    found = await stored(engine, table)
    expected = {row["id"]: row for row in rows}
    for change in changes:
        expected[change["id"]] = expected[change["id"]] | change
    assert found == expected


async def test_an_upsert_inserts_new_rows_and_sets_those_stored_already(
    engine: AsyncEngine, table: Table
) -> None:
    rows = [sample(index) for index in range(10)]
    async with AsyncSession(engine) as session, session.begin():
        await insert_many(session, table, rows[:4])
    again = [row | {"count": -row["count"], "data": {"again": True}} for row in rows[:4]]

    async with AsyncSession(engine) as session, session.begin():
        await upsert_many(session, table, again + rows[4:])

    assert await stored(engine, table) == {row["id"]: row for row in again + rows[4:]}


async def test_values_the_same_for_every_row_are_stored_on_each(
    engine: AsyncEngine, table: Table
) -> None:
    rows = [sample(index) for index in range(30)]
    moment = datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC)
    same = {"at": moment, "data": {"run": "r1"}, "colour": Colour.RED}
    async with AsyncSession(engine) as session, session.begin():
        await insert_many(session, table, [_without(row, same) for row in rows[:20]], same)
        await upsert_many(session, table, [_without(row, same) for row in rows[10:]], same)
    later = {"at": moment + timedelta(seconds=1), "count": 7}
    async with AsyncSession(engine) as session, session.begin():
        await update_many(
            session, table, [{"id": row["id"]} | {"score": 0.5} for row in rows[:5]], later
        )

    found = await stored(engine, table)

    expected = {row["id"]: row | same for row in rows}
    for row in rows[:5]:
        expected[row["id"]] |= later | {"score": 0.5}
    assert found == expected


def _without(row: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in keys}


async def test_nothing_to_write_is_no_statement(engine: AsyncEngine, table: Table) -> None:
    with statements(engine) as seen:
        async with AsyncSession(engine) as session, session.begin():
            await insert_many(session, table, [])
            await update_many(session, table, [])
            await insert_together(session, [Batch(table, [])])
    assert seen == []


async def test_rows_of_several_tables_are_inserted_together(
    engine: AsyncEngine, family: tuple[Table, Table]
) -> None:
    parent, child = family
    parents = [sample(index) for index in range(30)]
    same = {"data": {"run": "r1"}}
    children = [{"id": uuid.uuid4(), "parent_id": row["id"]} for row in parents for _ in "ab"]
    more = [{"id": uuid.uuid4(), "parent_id": parents[0]["id"], "data": [1, "two"]}]

    with statements(engine) as seen:
        async with AsyncSession(engine) as session, session.begin():
            batches = [Batch(parent, parents), Batch(child, children, same), Batch(child, more)]
            await insert_together(session, batches)

    assert await stored(engine, parent) == {row["id"]: row for row in parents}
    expected = [row | same for row in children] + more
    assert await stored(engine, child) == {row["id"]: row for row in expected}
    inserts = [statement for statement in seen if "INSERT" in statement]
    one_trip = engine.dialect.name == "postgresql"
    assert len(inserts) == (1 if one_trip else 3)


async def test_on_postgresql_a_row_may_come_before_the_row_it_references(
    engine: AsyncEngine, family: tuple[Table, Table]
) -> None:
    """Foreign keys are checked at the end of the one statement."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes each table in turn, in the order given")
    parent, child = family
    parents = [sample(index) for index in range(3)]
    children = [{"id": uuid.uuid4(), "parent_id": row["id"], "data": None} for row in parents]

    async with AsyncSession(engine) as session, session.begin():
        await insert_together(session, [Batch(child, children), Batch(parent, parents)])

    assert set(await stored(engine, child)) == {row["id"] for row in children}


async def test_rows_inserted_together_are_refused_together(
    engine: AsyncEngine, family: tuple[Table, Table]
) -> None:
    """A child whose parent is written by none: nothing of the statement stays."""
    parent, child = family
    parents = [sample(index) for index in range(3)]
    orphan = [{"id": uuid.uuid4(), "parent_id": uuid.uuid4(), "data": None}]

    with pytest.raises(IntegrityError):
        async with AsyncSession(engine) as session, session.begin():
            await insert_together(session, [Batch(parent, parents), Batch(child, orphan)])

    assert await stored(engine, parent) == {}
    assert await stored(engine, child) == {}


def test_sqlite_datetimes_are_stored_in_sqlalchemys_own_format() -> None:
    """What SQLite compares and sorts: the text must be exactly what SQLAlchemy writes."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)  # type: ignore[no-untyped-call]
    assert ours is not None
    assert theirs is not None
    for moment in (
        datetime(2026, 12, 4, 18, 30, 5, 123456, tzinfo=UTC),
        datetime(2026, 12, 4, 18, 30, 5, 7, tzinfo=UTC),  # the same second again
        datetime(2026, 12, 4, 18, 30, 5, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    ):
        assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "entity_rows"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    count: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column("remark", default="none given")
    plain: Mapped[str | None]


class _Computed(_Base):
    __tablename__ = "computed_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=func.now())


def test_an_entity_row_takes_the_defaults_a_flush_would() -> None:
    entity = _Row(count=5, note=None)

    row = entity_row(entity)

    assert isinstance(row["id"], uuid.UUID)
    assert row == {"id": entity.id, "count": 5, "remark": None, "plain": None}
    assert entity_row(_Row())["count"] == 1  # never set: the default; set to None: NULL, above


def test_an_entity_row_refuses_a_default_only_sql_knows() -> None:
    with pytest.raises(TypeError, match="computed in SQL"):
        entity_row(_Computed(id=1))
