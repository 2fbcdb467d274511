"""Repositories own all SQL. A `TenantRepository` is bound to one session and one organization,
and, when built for an actor (`reader`), to what that actor may read: every query starts from
`self._select()`, which already carries both filters. The orchestrator builds them without a
reader: system code sees the whole organization, never more."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, cast
from uuid import UUID

from sqlalchemy import ColumnElement, Select, Update, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql import policies
from dspex_gql.db.base import utcnow
from dspex_gql.db.bulk import entity_row
from dspex_gql.db.listing import FilterExpr, Listing, Page, PageRequest
from dspex_gql.db.sql import entity_rows, only_columns, remembered
from dspex_gql.errors import Conflict, NotFound
from dspex_gql.identity import Actor

if TYPE_CHECKING:
    from dspex_gql.db.uow import UnitOfWork


class TenantRow(Protocol):
    """A row of one organization: it has an id, an organization and (maybe) a creator."""

    id: Any
    organization_id: Any
    created_by: Any


M = TypeVar("M", bound=TenantRow)


READER_ID = "reader_id"


def _as_parameter(reader: Actor) -> Actor:
    """`reader` with its user id a bind parameter: visibility clauses compare it in SQL only, so
    a statement built with it serves every member of the same role."""
    return replace(reader, user_id=cast(UUID, bindparam(READER_ID)))


def _one_by_id(model: type[Any], keys: frozenset[str] | None, query: Select[Any]) -> Select[Any]:
    query = query.where(model.id == bindparam("id"))
    return query if keys is None else only_columns(query, keys)


def _many_by_id(model: type[Any], query: Select[Any]) -> Select[Any]:
    return query.where(model.id.in_(bindparam("ids", expanding=True)))


class TenantRepository(Generic[M]):
    model: ClassVar[type[Any]]
    resource: ClassVar[str]
    listing: ClassVar[Listing]

    def __init__(
        self, session: AsyncSession, organization_id: UUID, reader: Actor | None = None
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.reader = reader

    def _select(self) -> Select[M]:
        return self._within(self._visible())

    def _within(self, visible: ColumnElement[bool] | None) -> Select[M]:
        query = self._shown(self.model.organization_id == self.organization_id)
        return query if visible is None else query.where(visible)

    def _shown(self, of_organization: ColumnElement[bool]) -> Select[Any]:
        query = select(self.model).where(of_organization)
        live = self._live()
        return query if live is None else query.where(live)

    def _visible(self) -> ColumnElement[bool] | None:
        """The rows the reader may read, or None for all of them."""
        return policies.readable(self.reader, self.model)

    def _live(self) -> ColumnElement[bool] | None:
        """The rows shown to any reader (not deleted ones), or None for all of them."""
        return None

    async def get(self, id: UUID) -> M | None:
        result = await self.session.scalars(*self._by_id(id))
        return result.one_or_none()

    async def row(self, id: UUID, columns: Collection[str]) -> Any | None:
        """The row as an object of every attribute, None but for `columns` (and `id`)."""
        rows = entity_rows(await self.session.execute(*self._by_id(id, {*columns, "id"})))
        return rows[0] if rows else None

    def _by_id(
        self, id: UUID, keys: Collection[str] | None = None
    ) -> tuple[Select[Any], dict[str, Any]]:
        """The statement reading the row (only `keys`, as `only_columns`) and its parameters."""
        shape = None if keys is None else frozenset(keys)
        build = partial(_one_by_id, self.model, shape)
        query, parameters = self._statement(("by id", shape), build)
        return query, parameters | {"id": id}

    def _statement(
        self, shape: Hashable, build: Callable[[Select[Any]], Select[Any]]
    ) -> tuple[Select[Any], dict[str, Any]]:
        """`build` applied to the rows the reader may read, and the statement's parameters.

        Built once per repository, `shape` and role of the reader (or none: the system), with the
        organization and the reader as bind parameters: building a statement costs more than
        SQLite's answer to it."""
        reader = self.reader
        parameters: dict[str, Any] = {"organization_id": self.organization_id}
        if reader is not None:
            parameters[READER_ID] = reader.user_id
        role = None if reader is None else reader.role
        statement = remembered((type(self), shape, role), partial(self._parameterized, build))
        return statement, parameters

    def _parameterized(self, build: Callable[[Select[Any]], Select[Any]]) -> Select[Any]:
        stand_in = copy.copy(self)
        stand_in.reader = None if self.reader is None else _as_parameter(self.reader)
        visible = stand_in._visible()
        rows = self._shown(self.model.organization_id == bindparam("organization_id"))
        return build(rows if visible is None else rows.where(visible))

    async def _required(
        self, shape: Hashable, build: Callable[[Select[Any]], Select[Any]], id: UUID
    ) -> Any:
        """The one row of `_statement(shape, build)` for `id` (its `id` parameter), or NotFound."""
        query, parameters = self._statement(shape, build)
        row = (await self.session.execute(query, parameters | {"id": id})).one_or_none()
        if row is None:
            raise NotFound(self.resource, id)
        return row

    async def require(self, id: UUID) -> M:
        """The row, or NotFound: another organization's row does not exist here."""
        row = await self.get(id)
        if row is None:
            raise NotFound(self.resource, id)
        return row

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        wanted = set(ids)
        if not wanted:
            return {}
        query, parameters = self._statement("by ids", partial(_many_by_id, self.model))
        result = await self.session.scalars(query, parameters | {"ids": list(wanted)})
        return {row.id: row for row in result}

    async def page(self, request: PageRequest, query: Select[Any] | None = None) -> Page[M]:
        base = query if query is not None else self._select()
        return await self.listing.page(self.session, base, request)

    async def count(self, filter: FilterExpr | None, query: Select[Any] | None = None) -> int:
        return await self.listing.count(
            self.session, query if query is not None else self._select(), filter
        )

    def add(self, row: M, created_by: UUID | None = None) -> M:
        row.organization_id = self.organization_id
        row.created_by = created_by
        self.session.add(row)
        return row

    def insert_at_commit(self, tx: UnitOfWork, row: M, created_by: UUID | None = None) -> M:
        """As `add`, but written with `tx`'s other rows at commit, past the ORM's unit of work
        (a run's row as it starts: that flush cost more than the INSERT, and on PostgreSQL the
        run, its audit row and its nodes' rows go in one round trip). The row stays out of the
        session: nothing in the transaction may read it back, nor write a row that references
        it other than at commit."""
        row.organization_id = self.organization_id
        row.created_by = created_by
        tx.insert_at_commit(self.model.__table__, entity_row(row))
        return row


@dataclass(frozen=True)
class Recorded:
    """A state a run's row holds after `RunRepository.record`."""

    row: Any
    """The columns asked for, as stored."""
    now: bool
    """False when an earlier attempt had committed exactly this state without our knowing."""


class RunRepository(TenantRepository[M]):
    """Rows of runs (executions, optimization runs): a `status` that ends in one of `terminal`,
    a `sequence` that grows with every change, and the `process_id` of the process running it."""

    terminal: ClassVar[frozenset[Any]]

    async def record(
        self,
        id: UUID,
        sequence: int,
        values: Mapping[str, Any],
        process_id: UUID | None = None,
        returning: Sequence[str] = ("id",),
    ) -> Recorded | None:
        """Apply a state with its sequence unless the row already holds a later or final one —
        or, given `process_id`, unless another process has taken the run over (then None: the
        run moved on without the writer)."""
        shape = ("record", tuple(sorted(values)), tuple(returning), process_id is not None)
        statement = remembered((type(self), shape), partial(self._recording, *shape[1:]))
        parameters = {f"new_{name}": value for name, value in values.items()} | {
            "row_organization_id": self.organization_id,
            "row_id": id,
            "row_process_id": process_id,
            "new_sequence": sequence,
            "new_updated_at": utcnow(),
        }
        # through Core: the ORM would copy the statement and compute the copy's cache key
        connection = await self.session.connection()
        row = (await connection.execute(statement, parameters)).one_or_none()
        if row is not None:
            return Recorded(row, now=True)
        if process_id is None:
            return None
        columns = [getattr(self.model, name) for name in returning]
        held = await self._holding(id, sequence, process_id, columns)
        return None if held is None else Recorded(held, now=False)

    def _recording(
        self, names: tuple[str, ...], returning: tuple[str, ...], by_process: bool
    ) -> Update:
        """`record`'s statement, its values bind parameters (`new_<column>`): objects of the
        session are not refreshed by it, the state written is `Recorded.row`."""
        model = self.model
        statement = (
            update(model)
            .where(
                model.organization_id == bindparam("row_organization_id"),
                model.id == bindparam("row_id"),
            )
            .where(model.sequence < bindparam("new_sequence"), model.status.not_in(self.terminal))
            .values(
                sequence=bindparam("new_sequence"),
                updated_at=bindparam("new_updated_at"),
                **{name: bindparam(f"new_{name}") for name in names},
            )
            .returning(*(getattr(model, name) for name in returning))
            .execution_options(synchronize_session=False)
        )
        if by_process:
            statement = statement.where(model.process_id == bindparam("row_process_id"))
        return statement

    async def _holding(
        self, id: UUID, sequence: int, process_id: UUID, columns: Sequence[Any]
    ) -> Any | None:
        model = self.model
        query = select(*columns).where(
            model.organization_id == self.organization_id,
            model.id == id,
            model.sequence == sequence,
            model.process_id == process_id,
        )
        return (await self.session.execute(query)).one_or_none()


async def claim_abandoned_runs(
    session: AsyncSession,
    model: type[Any],
    unfinished: Iterable[Any],
    abandoned: Callable[[Any], ColumnElement[bool]],
    taker: UUID,
) -> list[Any]:
    """Runs of `model` no live process runs (status in `unfinished`), now run by `taker`, oldest
    first — in one statement, so two processes sweeping at once never both resume one."""
    statement = (
        update(model)
        .where(model.status.in_(list(unfinished)), abandoned(model.process_id))
        .values(process_id=taker, updated_at=utcnow())
        .returning(model)
    )
    runs = list(await session.scalars(statement))
    return sorted(runs, key=lambda run: run.created_at)


async def claim_run(
    session: AsyncSession, model: type[Any], unfinished: Iterable[Any], id: UUID, taker: UUID
) -> Any | None:
    """The run, now run by `taker`, unless it has finished (None) — whoever ran it before: a
    job queue hands a run to one worker at a time, and a writer it replaced is fenced off."""
    statement = (
        update(model)
        .where(model.id == id, model.status.in_(list(unfinished)))
        .values(process_id=taker, updated_at=utcnow())
        .returning(model)
    )
    return (await session.scalars(statement)).one_or_none()


async def flush_unique(session: AsyncSession, conflict: Conflict) -> None:
    """Flush, turning a unique violation into `conflict` (`unique_violation_as`)."""
    with unique_violation_as(conflict):
        await session.flush()


@contextmanager
def unique_violation_as(conflict: Conflict) -> Iterator[None]:
    """A unique violation raised in the block (two requests racing past the same check, or a
    row the unique index refuses at commit) becomes `conflict`; any other integrity error is a
    bug and stays one."""
    try:
        yield
    except IntegrityError as error:
        if not _unique_violation(error):
            raise
        raise conflict from error


def _unique_violation(error: IntegrityError) -> bool:
    original = error.orig
    return (
        getattr(original, "sqlstate", None) == "23505"
        or getattr(original, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_UNIQUE"
    )
