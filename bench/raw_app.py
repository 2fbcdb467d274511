"""The raw baseline: a bare Starlette app doing the same SQL as the service, nothing else.

Same engine factory as the service (`dspex_gql.db.engine.create_engine`: same driver, pool and
SQLite pragmas), SQLAlchemy Core on the same tables, and the same JSON shape as the GraphQL
response. Each route takes the very request body the GraphQL endpoint gets and reads its
`variables`, so the load generator sends the same bytes to both (only the path differs):

    POST /raw/program   {"variables": {"id": ...}}      → {"data": {"program": {...}}}
    POST /raw/programs  {"variables": {"first": 1000}}  → {"data": {"programs": {"nodes": [...]}}}
    POST /raw/programs_with_signature                   → the same, each with its signature (JOIN)
    POST /raw/execute   {"variables": {"input": {...}}} → insert PENDING, create_task, return
    POST /raw/dags      {"variables": {"first": 1000}}  → {"data": {"dags": {"nodes": [...]}}}
    POST /raw/dag_run   {"variables": {"id": ...}}      → {"data": {"dagRun": {...}}}

No authentication and no rate limit: the organization is looked up once, by slug, at start-up
(it is created for the run before any server starts), and the `Authorization` header the requests
carry for the service is ignored.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dspex_gql.accounts.models import Organization
from dspex_gql.config import DatabaseSettings
from dspex_gql.dags.models import Dag, DagRun, NodeExecution
from dspex_gql.db.base import utcnow
from dspex_gql.db.engine import create_engine
from dspex_gql.executions.models import Execution
from dspex_gql.programs.models import Program, ProgramStatus
from dspex_gql.signatures.models import Signature

PROGRAMS: Table = Program.__table__  # type: ignore[assignment]
SIGNATURES: Table = Signature.__table__  # type: ignore[assignment]
EXECUTIONS: Table = Execution.__table__  # type: ignore[assignment]
ORGANIZATIONS: Table = Organization.__table__  # type: ignore[assignment]
DAGS: Table = Dag.__table__  # type: ignore[assignment]
DAG_RUNS: Table = DagRun.__table__  # type: ignore[assignment]
NODE_EXECUTIONS: Table = NodeExecution.__table__  # type: ignore[assignment]

TaskStarted = Callable[[Mapping[str, Any]], None]
"""Called first thing in the task `/raw/execute` starts, with the execution's inputs."""


def create_raw_app(
    database_url: str, organization_slug: str, *, on_task_start: TaskStarted | None = None
) -> Starlette:
    tasks: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(DatabaseSettings(url=database_url))
        try:
            app.state.engine = engine
            app.state.organization_id = await _organization_id(engine, organization_slug)
            yield
            for task in list(tasks):
                await task
        finally:
            await engine.dispose()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def program(request: Request) -> JSONResponse:
        variables = (await request.json())["variables"]
        query = select(PROGRAMS.c.id, PROGRAMS.c.name, PROGRAMS.c.status, PROGRAMS.c.type).where(
            PROGRAMS.c.organization_id == request.app.state.organization_id,
            PROGRAMS.c.id == uuid.UUID(variables["id"]),
        )
        async with request.app.state.engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        node = None if row is None else _program_json(row._mapping)
        return JSONResponse({"data": {"program": node}})

    async def programs(request: Request) -> JSONResponse:
        return await programs_of(request, with_signature=False)

    async def programs_with_signature(request: Request) -> JSONResponse:
        return await programs_of(request, with_signature=True)

    async def programs_of(request: Request, *, with_signature: bool) -> JSONResponse:
        first = int((await request.json())["variables"]["first"])
        columns = (PROGRAMS.c.id, PROGRAMS.c.name, PROGRAMS.c.status, PROGRAMS.c.type)
        signature = (SIGNATURES.c.id.label("signature_id"), SIGNATURES.c.name.label("signature"))
        query = (
            select(*columns, PROGRAMS.c.created_at, *(signature if with_signature else ()))
            .where(
                PROGRAMS.c.organization_id == request.app.state.organization_id,
                PROGRAMS.c.status != ProgramStatus.ARCHIVED,
            )
            .order_by(PROGRAMS.c.created_at.desc(), PROGRAMS.c.id.desc())
            .limit(first + 1)
        )
        if with_signature:
            query = query.join(SIGNATURES, SIGNATURES.c.id == PROGRAMS.c.signature_id)
        async with request.app.state.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        nodes = [
            {**_program_json(row._mapping), "createdAt": row.created_at.isoformat()}
            | (
                {"signature": {"id": str(row.signature_id), "name": row.signature}}
                if with_signature
                else {}
            )
            for row in rows[:first]
        ]
        return JSONResponse({"data": {"programs": {"nodes": nodes}}})

    async def execute(request: Request) -> JSONResponse:
        given = (await request.json())["variables"]["input"]
        now, execution_id = utcnow(), uuid.uuid4()
        inputs = given["inputs"]
        async with request.app.state.engine.begin() as connection:
            await connection.execute(
                insert(EXECUTIONS).values(
                    id=execution_id,
                    organization_id=request.app.state.organization_id,
                    program_id=uuid.UUID(given["programId"]),
                    status="PENDING",
                    sequence=1,
                    inputs=inputs,
                    **{"metadata": {}},  # the column behind Execution.meta
                    created_at=now,
                    updated_at=now,
                )
            )
        task = asyncio.create_task(_job(inputs))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        body = {"__typename": "Execution", "id": str(execution_id), "status": "PENDING"}
        return JSONResponse({"data": {"executeProgram": body}})

    async def dags(request: Request) -> JSONResponse:
        """`dags(first:) { nodes { id name status version createdAt } }` of an admin: live DAGs,
        newest first (`DagRepository`'s default order), one more row fetched as the service does
        to know whether there is a next page."""
        first = int((await request.json())["variables"]["first"])
        query = (
            select(DAGS.c.id, DAGS.c.name, DAGS.c.status, DAGS.c.version, DAGS.c.created_at)
            .where(
                DAGS.c.organization_id == request.app.state.organization_id,
                DAGS.c.deleted_at.is_(None),
            )
            .order_by(DAGS.c.created_at.desc(), DAGS.c.id.desc())
            .limit(first + 1)
        )
        async with request.app.state.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        nodes = [
            {
                "id": str(row.id),
                "name": row.name,
                "status": row.status.value,
                "version": row.version,
                "createdAt": row.created_at.isoformat(),
            }
            for row in rows[:first]
        ]
        return JSONResponse({"data": {"dags": {"nodes": nodes}}})

    async def dag_run(request: Request) -> JSONResponse:
        """`dagRun(id) { nodeExecutions { id nodeName status durationMs } }`: the run (tenant
        filtered), then its nodes in definition order."""
        run_id = uuid.UUID((await request.json())["variables"]["id"])
        organization_id = request.app.state.organization_id
        run_query = select(DAG_RUNS.c.id).where(
            DAG_RUNS.c.organization_id == organization_id, DAG_RUNS.c.id == run_id
        )
        nodes_query = (
            select(
                NODE_EXECUTIONS.c.id,
                NODE_EXECUTIONS.c.node_name,
                NODE_EXECUTIONS.c.status,
                NODE_EXECUTIONS.c.duration_ms,
            )
            .where(
                NODE_EXECUTIONS.c.organization_id == organization_id,
                NODE_EXECUTIONS.c.dag_run_id == run_id,
            )
            .order_by(NODE_EXECUTIONS.c.position)
        )
        async with request.app.state.engine.connect() as connection:
            found = (await connection.execute(run_query)).one_or_none()
            rows = [] if found is None else (await connection.execute(nodes_query)).all()
        run = None
        if found is not None:
            nodes = [
                {
                    "id": str(row.id),
                    "nodeName": row.node_name,
                    "status": row.status.value,
                    "durationMs": row.duration_ms,
                }
                for row in rows
            ]
            run = {"nodeExecutions": nodes}
        return JSONResponse({"data": {"dagRun": run}})

    async def _job(inputs: Mapping[str, Any]) -> None:
        if on_task_start is not None:
            on_task_start(inputs)

    routes = [
        Route("/healthz", healthz),
        Route("/raw/program", program, methods=["POST"]),
        Route("/raw/programs", programs, methods=["POST"]),
        Route("/raw/programs_with_signature", programs_with_signature, methods=["POST"]),
        Route("/raw/execute", execute, methods=["POST"]),
        Route("/raw/dags", dags, methods=["POST"]),
        Route("/raw/dag_run", dag_run, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _program_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "status": row["status"].value,
        "type": row["type"].value,
    }


async def _organization_id(engine: AsyncEngine, slug: str) -> uuid.UUID:
    query = select(ORGANIZATIONS.c.id).where(ORGANIZATIONS.c.slug == slug)
    async with engine.connect() as connection:
        found = (await connection.execute(query)).scalar_one_or_none()
    if found is None:
        raise RuntimeError(f"organization {slug!r} not found: create it first (create_org)")
    return uuid.UUID(str(found))
