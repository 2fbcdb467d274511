"""What every resource service offers: reads within the actor's organization."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar
from uuid import UUID

from dspex_gql.db.listing import FilterExpr, Page, PageRequest
from dspex_gql.db.repository import TenantRepository, TenantRow
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.identity import Actor

M = TypeVar("M", bound=TenantRow)


class ResourceService(Generic[M]):
    def __init__(self, uow: UnitOfWorkFactory, actor: Actor) -> None:
        self._uow = uow
        self._actor = actor

    def _repo(self, tx: UnitOfWork) -> TenantRepository[M]:
        raise NotImplementedError

    async def get(self, id: UUID) -> M:
        async with self._uow.read() as tx:
            return await self._repo(tx).require(id)

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        async with self._uow.read() as tx:
            return await self._repo(tx).get_many(ids)

    async def page(self, request: PageRequest) -> Page[M]:
        async with self._uow.read() as tx:
            return await self._repo(tx).page(request)

    async def count(self, filter: FilterExpr | None) -> int:
        async with self._uow.read() as tx:
            return await self._repo(tx).count(filter)
