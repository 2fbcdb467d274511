"""What every resource service offers: reads within the actor's organization."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, Generic, TypeVar
from uuid import UUID

from dspex_gql.db.listing import FilterExpr, Page, PageRequest
from dspex_gql.db.repository import TenantRepository, TenantRow
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.errors import NotFound
from dspex_gql.identity import Actor

M = TypeVar("M", bound=TenantRow)
R = TypeVar("R", bound=TenantRepository[Any])


class ResourceService(Generic[M, R]):
    """Subclasses name their rows' repository: `repository = ProgramRepository`."""

    repository: type[R]

    def __init__(self, uow: UnitOfWorkFactory, actor: Actor) -> None:
        self._uow = uow
        self._actor = actor

    def _repo(self, tx: UnitOfWork) -> R:
        """The repository in `tx`, showing what the actor may read."""
        return self.repository(tx.session, self._actor.organization_id, self._actor)

    async def get(self, id: UUID) -> M:
        async with self._uow.read() as tx:
            row: M = await self._repo(tx).require(id)
        return row

    async def row(self, id: UUID, columns: Collection[str]) -> Any:
        """Only `columns` of the row (`TenantRepository.row`), or NotFound."""
        async with self._uow.read() as tx:
            row = await self._repo(tx).row(id, columns)
        if row is None:
            raise NotFound(self.repository.resource, id)
        return row

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        async with self._uow.read() as tx:
            return await self._repo(tx).get_many(ids)

    async def page(self, request: PageRequest) -> Page[M]:
        async with self._uow.read() as tx:
            return await self._repo(tx).page(request)

    async def count(self, filter: FilterExpr | None) -> int:
        async with self._uow.read() as tx:
            return await self._repo(tx).count(filter)
