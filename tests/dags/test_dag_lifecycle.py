"""A DAG's life: unique names, new versions, DRAFT → ACTIVE → ARCHIVED, soft delete, and the
audit log it leaves."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI

from dspex_gql.dags.models import Dag, DagRun, DagStatus, RunStatus
from dspex_gql.dags.repository import DagRepository
from dspex_gql.db.base import utcnow
from dspex_gql.errors import Conflict
from dspex_gql.policies import Visibility
from dspex_gql.runtime import Runtime
from tests.dags.helpers import (
    change,
    create_dag,
    get_dag,
    list_dags,
    new_dag,
    one_node,
    refused,
    update_dag,
)
from tests.support.http_client import GraphQLClient
from tests.support.tenants import Tenant, new_tenant


def copied(dag: dict[str, Any], *, deleted_at: datetime | None) -> Dag:
    """A new row like `dag` (as read through the API), with the same name."""
    return Dag(
        name=dag["name"],
        status=DagStatus.DRAFT,
        version=1,
        definition=dag["definition"],
        visibility=Visibility.PRIVATE,
        deleted_at=deleted_at,
    )


class TestNames:
    async def test_a_live_dags_name_is_taken_in_its_organization(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        await new_dag(client, name="pipeline")
        elsewhere = client.acting_as((await new_tenant(app)).admin_key)

        again = await create_dag(client, await one_node(client), name=" pipeline ")
        in_another_organization = await new_dag(elsewhere, name="pipeline")

        assert refused(again, "ConflictError", "A DAG named 'pipeline' already exists")
        assert in_another_organization["name"] == "pipeline"

    async def test_renaming_onto_a_taken_name_is_a_conflict(self, client: GraphQLClient) -> None:
        await new_dag(client, name="first")
        second = await new_dag(client, name="second")

        result = await update_dag(client, second["id"], name="first")

        assert refused(result, "ConflictError", "A DAG named 'first' already exists")

    async def test_a_deleted_dags_name_can_be_used_again(self, client: GraphQLClient) -> None:
        old = await new_dag(client, name="reused")
        await change(client, "deleteDag", old["id"])

        new = await new_dag(client, name="reused")

        assert new["id"] != old["id"]
        assert new["version"] == 1

    async def test_a_name_taken_meanwhile_is_a_conflict_when_stored(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        """What a request that raced past the check meets: the unique index of live names."""
        taken = await new_dag(client, name="raced")
        runtime: Runtime = app.state.runtime
        async with runtime.uow.read() as tx:
            repository = DagRepository(tx.session, UUID(tenant.organization_id))
            loser = repository.add(copied(taken, deleted_at=None))

            with pytest.raises(Conflict, match="A DAG named 'raced' already exists"):
                await repository.save_unique(loser)

    async def test_deleted_dags_do_not_hold_their_name_when_stored(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        dag = await new_dag(client, name="gone")
        await change(client, "deleteDag", dag["id"])
        runtime: Runtime = app.state.runtime
        async with runtime.uow.read() as tx:
            repository = DagRepository(tx.session, UUID(tenant.organization_id))
            for _ in range(2):
                await repository.save_unique(repository.add(copied(dag, deleted_at=utcnow())))


class TestVersions:
    async def test_a_new_definition_is_version_2_and_version_1_is_kept(
        self, client: GraphQLClient
    ) -> None:
        dag = await new_dag(client)
        first = dag["definition"]
        second = await one_node(client, "question -> answer, confidence: float")

        updated = await update_dag(client, dag["id"], definition=second)

        assert (updated["version"], updated["definition"]) == (2, second)
        assert [(v["version"], v["definition"]) for v in updated["versions"]] == [
            (1, first),
            (2, second),
        ]
        assert updated["versions"][0] == dag["versions"][0]
        assert updated["nodes"][0]["program"]["id"] == second["nodes"][0]["programId"]

    async def test_the_same_definition_or_other_fields_write_no_version(
        self, client: GraphQLClient
    ) -> None:
        dag = await new_dag(client)

        updated = await update_dag(
            client,
            dag["id"],
            definition=dag["definition"],
            name="renamed",
            description="now described",
            visibility="ORGANIZATION",
        )

        assert (updated["name"], updated["description"]) == ("renamed", "now described")
        assert updated["visibility"] == "ORGANIZATION"
        assert (updated["version"], len(updated["versions"])) == (1, 1)

    async def test_an_active_dag_takes_a_new_version_and_stays_active(
        self, client: GraphQLClient
    ) -> None:
        dag = await new_dag(client)
        await change(client, "activateDag", dag["id"])

        updated = await update_dag(client, dag["id"], definition=await one_node(client))

        assert (updated["status"], updated["version"]) == ("ACTIVE", 2)


class TestLifecycle:
    async def test_draft_to_active_to_archived(self, client: GraphQLClient) -> None:
        dag = await new_dag(client)

        active = await change(client, "activateDag", dag["id"])
        archived = await change(client, "archiveDag", dag["id"])

        assert (active["status"], archived["status"]) == ("ACTIVE", "ARCHIVED")
        assert (await get_dag(client, dag["id"]) or {})["status"] == "ARCHIVED"

    async def test_a_draft_can_be_archived(self, client: GraphQLClient) -> None:
        dag = await new_dag(client)

        assert (await change(client, "archiveDag", dag["id"]))["status"] == "ARCHIVED"

    async def test_only_drafts_are_activated(self, client: GraphQLClient) -> None:
        dag = await new_dag(client)
        await change(client, "activateDag", dag["id"])

        again = await change(client, "activateDag", dag["id"])

        assert refused(again, "ConflictError", "Only draft DAGs can be activated")

    async def test_an_archived_dag_cannot_change(self, client: GraphQLClient) -> None:
        dag = await new_dag(client)
        await change(client, "archiveDag", dag["id"])

        results = [
            await change(client, "activateDag", dag["id"]),
            await change(client, "archiveDag", dag["id"]),
            await update_dag(client, dag["id"], description="too late"),
        ]

        assert [(r["__typename"], r["message"]) for r in results] == [
            ("ConflictError", "Only draft DAGs can be activated"),
            ("ConflictError", "The DAG is already archived"),
            ("ConflictError", "Archived DAGs cannot be changed"),
        ]
        assert (await get_dag(client, dag["id"]) or {})["description"] is None


async def add_run(app: FastAPI, tenant: Tenant, dag_id: str, status: RunStatus) -> UUID:
    """A run row as the runs' service stores one (there is no other way to make one here)."""
    runtime: Runtime = app.state.runtime
    run = DagRun(
        organization_id=UUID(tenant.organization_id),
        dag_id=UUID(dag_id),
        dag_version=1,
        status=status,
        context={},
    )
    async with runtime.uow() as tx:
        tx.session.add(run)
    return run.id


async def finish_run(app: FastAPI, id: UUID) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.uow() as tx:
        run = await tx.session.get(DagRun, id)
        assert run is not None
        run.status = RunStatus.CANCELLED


class TestDelete:
    async def test_a_deleted_dag_is_neither_found_nor_listed(self, client: GraphQLClient) -> None:
        kept, deleted = await new_dag(client), await new_dag(client)

        result = await change(client, "deleteDag", deleted["id"])

        assert (result["__typename"], result["id"]) == ("Dag", deleted["id"])
        assert await get_dag(client, deleted["id"]) is None
        listed = await list_dags(client)
        assert ([n["id"] for n in listed["nodes"]], listed["totalCount"]) == ([kept["id"]], 1)
        for again in (
            await change(client, "deleteDag", deleted["id"]),
            await change(client, "activateDag", deleted["id"]),
            await update_dag(client, deleted["id"], name="back"),
        ):
            assert (again["__typename"], again["id"]) == ("NotFoundError", deleted["id"])

    @pytest.mark.parametrize("status", [RunStatus.PENDING, RunStatus.RUNNING])
    async def test_refused_while_a_run_is_unfinished(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient, status: RunStatus
    ) -> None:
        dag = await new_dag(client)
        await add_run(app, tenant, dag["id"], RunStatus.SUCCESS)
        unfinished = await add_run(app, tenant, dag["id"], status)

        refusal = await change(client, "deleteDag", dag["id"])
        await finish_run(app, unfinished)
        deleted = await change(client, "deleteDag", dag["id"])

        assert refused(
            refusal,
            "ConflictError",
            "The DAG has 1 unfinished run(s); cancel them or let them end",
        )
        assert deleted["__typename"] == "Dag"


AUDIT = """query($id: String!) { auditLogs(filter: {resourceId: {eq: $id}}, first: 100) {
  nodes { action resourceType actor { id } changes } } }"""


class TestAudit:
    async def test_every_change_is_in_the_audit_log(
        self, client: GraphQLClient, tenant: Tenant
    ) -> None:
        dag = await new_dag(client, name="audited")
        await update_dag(client, dag["id"], description="v2", definition=await one_node(client))
        for mutation in ("activateDag", "archiveDag", "deleteDag"):
            assert (await change(client, mutation, dag["id"]))["__typename"] == "Dag"

        rows = (await client.data(AUDIT, id=dag["id"]))["auditLogs"]["nodes"]

        assert {row["resourceType"] for row in rows} == {"Dag"}
        assert {row["actor"]["id"] for row in rows} == {tenant.admin_id}
        assert {row["action"]: row["changes"] for row in rows} == {
            "dag.create": {
                "name": "audited",
                "description": None,
                "visibility": "PRIVATE",
                "version": 1,
                "nodes": 1,
            },
            "dag.update": {"description": "v2", "version": [1, 2]},
            "dag.activate": {"status": ["DRAFT", "ACTIVE"]},
            "dag.archive": {"status": ["ACTIVE", "ARCHIVED"]},
            "dag.delete": {"name": "audited"},
        }

    async def test_a_refused_change_leaves_no_row(self, client: GraphQLClient) -> None:
        dag = await new_dag(client)
        await change(client, "activateDag", dag["id"])

        await change(client, "activateDag", dag["id"])
        await update_dag(client, dag["id"], definition={"nodes": []})

        rows = (await client.data(AUDIT, id=dag["id"]))["auditLogs"]["nodes"]
        assert sorted(row["action"] for row in rows) == ["dag.activate", "dag.create"]
