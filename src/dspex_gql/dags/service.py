"""DAG use cases: create, update (a new version when the definition changes), lifecycle and
soft delete."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Table

from dspex_gql import policies
from dspex_gql.audit import recorder as audit
from dspex_gql.config import DagSettings
from dspex_gql.dags.checks import (
    definition_problems,
    description_problems,
    name_problems,
    raise_if,
)
from dspex_gql.dags.models import Dag, DagStatus, DagVersion
from dspex_gql.dags.repository import DagRepository, DagVersionRepository, duplicate_name
from dspex_gql.db.base import utcnow
from dspex_gql.db.bulk import entity_row
from dspex_gql.db.repository import unique_violation_as
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.errors import Conflict, FieldProblem
from dspex_gql.identity import Actor
from dspex_gql.ids import new_id
from dspex_gql.policies import Visibility
from dspex_gql.resource import ResourceService
from dspex_gql.unset import UNSET, Maybe

ACTIONS = {DagStatus.ACTIVE: "activate", DagStatus.ARCHIVED: "archive"}


@dataclass(frozen=True)
class NewDag:
    name: str
    definition: Any
    """The client's JSON: `{"nodes": [{"name": "retrieve", "programId": "…", …}, …]}`."""
    description: str | None = None
    visibility: Visibility = Visibility.PRIVATE


@dataclass(frozen=True)
class DagChanges:
    name: Maybe[str] = UNSET
    description: Maybe[str | None] = UNSET
    definition: Maybe[Any] = UNSET
    visibility: Maybe[Visibility] = UNSET


DAG_VERSIONS: Table = DagVersion.__table__  # type: ignore[assignment]


class DagService(ResourceService[Dag, DagRepository]):
    repository = DagRepository

    def __init__(self, uow: UnitOfWorkFactory, actor: Actor, settings: DagSettings) -> None:
        super().__init__(uow, actor)
        self._settings = settings

    async def versions(self, dag_ids: Iterable[UUID]) -> dict[UUID, list[DagVersion]]:
        async with self._uow.read() as tx:
            return await self._versions(tx).of_dags(dag_ids)

    async def create(self, new: NewDag) -> Dag:
        policies.ensure_can_create(self._actor, "DAGs")
        name = new.name.strip()
        # The DAG's row is written at commit, with its first version and its audit row (one
        # statement on PostgreSQL, outside a transaction): the unique index on live names decides.
        with unique_violation_as(duplicate_name(name)):
            async with self._uow.inserting() as tx:
                problems = name_problems(new.name) + description_problems(new.description)
                raise_if(problems + await self._definition_problems(tx, new.definition))
                dag = Dag(
                    id=new_id(),
                    name=name,
                    description=new.description,
                    status=DagStatus.DRAFT,
                    version=1,
                    definition=new.definition,
                    visibility=new.visibility,
                )
                self._repo(tx).insert_at_commit(tx, dag, created_by=self._actor.user_id)
                self._first_version(tx, dag)
                audit.record(tx, self._actor, "dag.create", "Dag", dag.id, _created(dag))
        return dag

    async def update(self, id: UUID, changes: DagChanges) -> Dag:
        """A definition other than the current one becomes the next version."""
        async with self._uow() as tx:
            repo = self._repo(tx)
            dag = await repo.require(id)
            policies.ensure_can_change(self._actor, dag, "DAG")
            if dag.status == DagStatus.ARCHIVED:
                raise Conflict("Archived DAGs cannot be changed")
            problems = _change_problems(changes)
            if changes.definition is not UNSET:
                problems += await self._definition_problems(tx, changes.definition)
            raise_if(problems)
            if changes.name is not UNSET:
                await _ensure_name_free(repo, changes.name.strip(), other_than=id)
            recorded = _apply(dag, changes)
            await repo.save_unique(dag)
            if changes.definition is not UNSET and changes.definition != dag.definition:
                recorded["version"] = [dag.version, dag.version + 1]
                dag.definition, dag.version = changes.definition, dag.version + 1
                await self._versions(tx).save_unique(self._add_version(tx, dag))
            audit.record(tx, self._actor, "dag.update", "Dag", id, recorded)
            return dag

    async def activate(self, id: UUID) -> Dag:
        return await self._transition(
            id, {DagStatus.DRAFT}, DagStatus.ACTIVE, "Only draft DAGs can be activated"
        )

    async def archive(self, id: UUID) -> Dag:
        return await self._transition(
            id,
            {DagStatus.DRAFT, DagStatus.ACTIVE},
            DagStatus.ARCHIVED,
            "The DAG is already archived",
        )

    async def delete(self, id: UUID) -> Dag:
        """Soft: the DAG and its runs stay stored, the DAG is no longer found or listed, and its
        name is free again. Refused while a run of it is PENDING or RUNNING."""
        async with self._uow() as tx:
            repo = self._repo(tx)
            dag = await repo.require(id)
            policies.ensure_can_change(self._actor, dag, "DAG")
            unfinished = await repo.unfinished_runs(id)
            if unfinished:
                raise Conflict(
                    f"The DAG has {unfinished} unfinished run(s); cancel them or let them end"
                )
            dag.deleted_at = utcnow()
            audit.record(tx, self._actor, "dag.delete", "Dag", id, {"name": dag.name})
            return dag

    async def _transition(
        self, id: UUID, sources: set[DagStatus], target: DagStatus, refusal: str
    ) -> Dag:
        async with self._uow() as tx:
            dag = await self._repo(tx).require(id)
            policies.ensure_can_change(self._actor, dag, "DAG")
            if dag.status not in sources:
                raise Conflict(refusal)
            changes = {"status": [dag.status, target]}
            dag.status = target
            audit.record(tx, self._actor, f"dag.{ACTIONS[target]}", "Dag", id, changes)
            return dag

    async def _definition_problems(self, tx: UnitOfWork, raw: Any) -> list[FieldProblem]:
        return await definition_problems(
            tx.session, self._actor, raw, max_bytes=self._settings.max_definition_bytes
        )

    def _versions(self, tx: UnitOfWork) -> DagVersionRepository:
        return DagVersionRepository(tx.session, self._actor.organization_id, self._actor)

    def _first_version(self, tx: UnitOfWork, dag: Dag) -> None:
        """A new DAG's version 1, written with the audit rows just before commit, after the DAG's
        own row (no flush of its own: no other version of a new DAG can take its number)."""
        version = self._version_of(dag)
        version.organization_id = self._actor.organization_id
        version.created_by = self._actor.user_id
        tx.insert_at_commit(DAG_VERSIONS, entity_row(version))

    def _add_version(self, tx: UnitOfWork, dag: Dag) -> DagVersion:
        """The DAG's current definition, kept as it is for good (written at the next flush)."""
        return self._versions(tx).add(self._version_of(dag), created_by=self._actor.user_id)

    @staticmethod
    def _version_of(dag: Dag) -> DagVersion:
        return DagVersion(dag_id=dag.id, version=dag.version, definition=dag.definition)


async def _ensure_name_free(
    repo: DagRepository, name: str, *, other_than: UUID | None = None
) -> None:
    if await repo.name_taken(name, other_than=other_than):
        raise duplicate_name(name)


def _change_problems(changes: DagChanges) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if changes.name is not UNSET:
        problems += name_problems(changes.name)
    if changes.description is not UNSET:
        problems += description_problems(changes.description)
    if changes.visibility is None:
        problems.append(FieldProblem("visibility", "must not be null", "required"))
    return problems


def _apply(dag: Dag, changes: DagChanges) -> dict[str, Any]:
    """Apply the descriptive changes; what the audit log records of them."""
    recorded: dict[str, Any] = {}
    if changes.name is not UNSET:
        dag.name = recorded["name"] = changes.name.strip()
    if changes.description is not UNSET:
        dag.description = recorded["description"] = changes.description
    if changes.visibility is not UNSET:
        dag.visibility = recorded["visibility"] = changes.visibility
    return recorded


def _created(dag: Dag) -> dict[str, Any]:
    return {
        "name": dag.name,
        "description": dag.description,
        "visibility": dag.visibility,
        "version": dag.version,
        "nodes": len(dag.definition["nodes"]),
    }
