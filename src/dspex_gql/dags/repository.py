from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, bindparam, func, select

from dspex_gql import policies
from dspex_gql.accounts.quota import ComputeQuota, with_quota
from dspex_gql.dags.models import UNFINISHED, Dag, DagRun, DagVersion
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import TenantRepository, flush_unique
from dspex_gql.errors import Conflict


class DagRepository(TenantRepository[Dag]):
    """Live DAGs only: a deleted one (`deleted_at` set) is not found, listed or counted."""

    model = Dag
    resource = "Dag"
    listing = Listing(
        fields={
            "name": Dag.name,
            "status": Dag.status,
            "visibility": Dag.visibility,
            "created_at": Dag.created_at,
            "updated_at": Dag.updated_at,
        },
        id=Dag.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    def _live(self) -> ColumnElement[bool] | None:
        return Dag.deleted_at.is_(None)

    async def to_run(self, id: UUID) -> tuple[Dag, ComputeQuota]:
        """The DAG (NotFound when the reader cannot see it) and its organization's compute
        quota, in one query."""
        dag, limit, used = await self._required("to run", _to_run, id)
        return dag, ComputeQuota(limit, used)

    async def name_taken(self, name: str, *, other_than: UUID | None = None) -> bool:
        """Whether a live DAG of the organization has this name, whoever may read it: names are
        unique in the organization."""
        query = select(func.count()).where(
            Dag.organization_id == self.organization_id,
            Dag.name == name,
            Dag.deleted_at.is_(None),
        )
        if other_than is not None:
            query = query.where(Dag.id != other_than)
        return bool(await self.session.scalar(query))

    async def unfinished_runs(self, id: UUID) -> int:
        query = select(func.count()).where(
            DagRun.organization_id == self.organization_id,
            DagRun.dag_id == id,
            DagRun.status.in_(UNFINISHED),
        )
        return int(await self.session.scalar(query) or 0)

    async def save_unique(self, dag: Dag) -> Dag:
        """Flush, turning a name taken by a request that raced past our check into a Conflict."""
        await flush_unique(self.session, duplicate_name(dag.name))
        return dag


class DagVersionRepository(TenantRepository[DagVersion]):
    """Versions of the DAGs the reader may read."""

    model = DagVersion
    resource = "DagVersion"

    def _visible(self) -> ColumnElement[bool] | None:
        return policies.readable_through(self.reader, DagVersion.dag_id, Dag)

    async def of_dags(self, dag_ids: Iterable[UUID]) -> dict[UUID, list[DagVersion]]:
        """Each DAG's versions, oldest first."""
        query = (
            self._select()
            .where(DagVersion.dag_id.in_(set(dag_ids)))
            .order_by(DagVersion.dag_id, DagVersion.version)
        )
        found: dict[UUID, list[DagVersion]] = {}
        for version in await self.session.scalars(query):
            found.setdefault(version.dag_id, []).append(version)
        return found

    async def save_unique(self, version: DagVersion) -> DagVersion:
        """Flush, turning a version another update wrote meanwhile into a Conflict."""
        await flush_unique(self.session, Conflict("The DAG was changed meanwhile; try again"))
        return version


def duplicate_name(name: str) -> Conflict:
    return Conflict(f"A DAG named {name!r} already exists")


def _to_run(dags: Select[Any]) -> Select[Any]:
    return with_quota(dags.where(Dag.id == bindparam("id")), Dag.organization_id)
