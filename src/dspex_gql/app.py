"""`create_app(settings)`: the FastAPI application; its lifespan owns every long-lived part."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from dspex_gql import __version__
from dspex_gql.accounts.service import ensure_local_actor
from dspex_gql.config import Settings
from dspex_gql.db import migrations
from dspex_gql.db.engine import create_engine, create_session_factory
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.executions.runner import ExecutionRunner, recover_interrupted
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.schema import build_schema
from dspex_gql.http import BodySizeLimit
from dspex_gql.orchestrator import Orchestrator, ProgressReporter
from dspex_gql.programs.runner import recover_initializing
from dspex_gql.pubsub import Hub
from dspex_gql.runtime import Runtime

READINESS_TIMEOUT = 2.0


def create_app(
    settings: Settings | None = None,
    *,
    adapters: AdapterRegistry | None = None,
    custom_programs: CustomProgramRegistry | None = None,
) -> FastAPI:
    settings = settings or Settings()
    adapters = adapters or AdapterRegistry.default()
    custom_programs = custom_programs or CustomProgramRegistry.from_entry_points()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await _start(stack, settings, adapters, custom_programs)
            app.state.runtime = runtime
            app.state.local_actor = await ensure_local_actor(
                runtime.uow, settings.server.default_organization
            )
            if settings.server.gc_freeze:
                gc.collect()
                gc.freeze()
            yield

    app = FastAPI(title="dspex-gql", version=__version__, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.server.max_body_bytes)
    app.include_router(_graphql_router(settings), prefix="/graphql")
    app.add_api_route("/healthz", _alive, methods=["GET"])
    app.add_api_route("/readyz", _ready, methods=["GET"])
    return app


async def _start(
    stack: AsyncExitStack,
    settings: Settings,
    adapters: AdapterRegistry,
    custom_programs: CustomProgramRegistry,
) -> Runtime:
    if settings.database.migrate_on_start:
        await migrations.upgrade(settings.database.url)
    engine = create_engine(settings.database)
    stack.push_async_callback(engine.dispose)
    uow = UnitOfWorkFactory(create_session_factory(engine))
    broadcast = settings.broadcast
    hub = await stack.enter_async_context(
        Hub(
            broadcast.url,
            buffer_size=broadcast.subscriber_buffer,
            heartbeat_interval=broadcast.heartbeat_seconds,
        )
    )
    execution = settings.execution
    reporter = await stack.enter_async_context(
        ProgressReporter(uow, interval=execution.progress_interval_ms / 1000)
    )
    orchestrator = await stack.enter_async_context(
        Orchestrator(
            max_concurrency=execution.max_concurrency,
            shutdown_grace=execution.shutdown_grace_seconds,
        )
    )
    runner = ExecutionRunner(reporter, hub, adapters, custom_programs)
    await recover_interrupted(uow, runner)
    await recover_initializing(uow)
    return Runtime(settings, engine, uow, hub, orchestrator, adapters, custom_programs, runner)


def _graphql_router(settings: Settings) -> GraphQLRouter[Context, None]:
    return GraphQLRouter(
        build_schema(settings.graphql),
        context_getter=_context,
        graphql_ide="graphiql" if settings.graphql.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
    )


async def _context(connection: HTTPConnection) -> Context:
    state = connection.app.state
    return Context(
        state.runtime,
        state.local_actor,
        request_id=connection.headers.get("x-request-id"),
        cache=connection.scope["type"] == "http",
    )


async def _alive() -> dict[str, str]:
    return {"status": "ok"}


async def _ready(connection: HTTPConnection) -> JSONResponse:
    runtime: Runtime = connection.app.state.runtime
    checks = {
        "database": await _database_ok(runtime),
        "pubsub": await runtime.hub.ping(READINESS_TIMEOUT),
    }
    ready = all(checks.values())
    body = {"status": "ready" if ready else "unavailable"} | {
        k: "ok" if v else "down" for k, v in checks.items()
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database_ok(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
