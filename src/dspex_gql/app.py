"""`create_app(settings)`: the FastAPI application; its lifespan owns every long-lived part."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection

from dspex_gql import __version__
from dspex_gql.accounts.authentication import Authenticator
from dspex_gql.accounts.key_cache import KeyCache
from dspex_gql.accounts.organizations import bootstrap, refuse_a_bad_admin, seed_admin
from dspex_gql.accounts.passwords import Passwords
from dspex_gql.accounts.sessions import SessionService
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.config import Settings
from dspex_gql.dags.job import DAG_RUNS
from dspex_gql.dags.job import LANE as DAG_LANE
from dspex_gql.dags.recovery import ResumedDagRuns
from dspex_gql.db import migrations
from dspex_gql.db.engine import create_engine
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.engine.adapters.dspy import probe_language_model as dspy_probe
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.language_models import LanguageModelProbe
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.executions.job import EXECUTIONS, InterruptedExecutions
from dspex_gql.graphql.dashboard import assets_url, dashboard_assets, dashboard_page
from dspex_gql.graphql.ide import ASSETS_PATH, graphiql_assets
from dspex_gql.graphql.router import GraphQLEndpoint, graphql_router
from dspex_gql.graphql.unavailable import unavailability
from dspex_gql.graphql.websocket_server import WebSocketEndpoint
from dspex_gql.http import (
    BodySizeLimit,
    ErrorResponses,
    RequestId,
    WebSocketCloseReasons,
    WebSocketMessageLimit,
)
from dspex_gql.observability import (
    Sources,
    Telemetry,
    Tracing,
    metrics_endpoint,
    metrics_listener,
    start_tracing,
)
from dspex_gql.optimization_runs.job import LANE as OPTIMIZATION_LANE
from dspex_gql.optimization_runs.job import OPTIMIZATIONS
from dspex_gql.optimization_runs.recovery import ResumedOptimizations
from dspex_gql.orchestrator import Orchestrator, ProgressReporter
from dspex_gql.orchestrator.checkpoints import wal_checkpoints
from dspex_gql.orchestrator.lease import ProcessLease
from dspex_gql.orchestrator.reclaim import Reclaimer, RunReclamation
from dspex_gql.programs.initialization import InterruptedInitializations
from dspex_gql.pubsub import Hub
from dspex_gql.ratelimit import open_buckets
from dspex_gql.runs import Runs
from dspex_gql.runs.queueing import RunQueue
from dspex_gql.runtime import Runtime
from dspex_gql.secrets_box import SecretBox, default_key_file, secret_box

READINESS_TIMEOUT = 2.0
QUEUED_KINDS = (EXECUTIONS.name, OPTIMIZATIONS.name, DAG_RUNS.name)
"""The runs worker processes run with `DSPEX_JOBS=procrastinate`; program initializations (quick
checks) stay in the process that starts them."""
LOOPBACK_NAMES = {"localhost"}
GRAPHQL_PATH = "/graphql"


def create_app(
    settings: Settings | None = None,
    *,
    adapters: AdapterRegistry | None = None,
    custom_programs: CustomProgramRegistry | None = None,
    probe_language_model: LanguageModelProbe = dspy_probe,
    tracing: Tracing | None = None,
) -> FastAPI:
    """`tracing`: where spans go (tests pass one with an in-memory exporter); by default, to
    DSPEX_OTEL_ENDPOINT when set."""
    settings = settings or Settings()
    refuse_unsafe(settings)
    adapters = adapters or AdapterRegistry.default()
    custom_programs = custom_programs or CustomProgramRegistry.from_entry_points()
    telemetry = Telemetry(settings.metrics, tracing or start_tracing(settings.tracing))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await _start(
                stack, settings, adapters, custom_programs, probe_language_model, telemetry
            )
            app.state.runtime = runtime
            if settings.jobs == "procrastinate" and settings.jobs_embedded_worker:
                await stack.enter_async_context(_embedded_worker(runtime))
            await seed_admin(runtime.uow, runtime.passwords, settings.admin)
            first_key = await bootstrap(runtime.uow)
            if first_key is not None:
                print(f"Admin API key: {first_key}", flush=True)
            if settings.server.gc_freeze:
                gc.collect()
                gc.freeze()
            stack.enter_context(young_collections_after(settings.server.gc_threshold))
            yield

    app = FastAPI(
        title="dspex-gql",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    router = graphql_router(settings)
    app.add_middleware(GraphQLEndpoint, path=GRAPHQL_PATH, router=router, scope_type="http")
    app.add_middleware(ErrorResponses, unavailability=unavailability)
    app.add_middleware(BodySizeLimit, max_bytes=settings.server.max_body_bytes)
    app.add_middleware(GraphQLEndpoint, path=GRAPHQL_PATH, router=router, scope_type="websocket")
    app.add_middleware(WebSocketMessageLimit, max_bytes=settings.server.max_body_bytes)
    app.add_middleware(WebSocketCloseReasons)
    app.add_middleware(RequestId)
    if settings.cors.origins:
        allow_cross_origin(app, settings.cors.origins)
    app.include_router(router, prefix=GRAPHQL_PATH)
    app.state.shared_subscriptions = router.shared_subscriptions
    app.state.websocket_endpoint = WebSocketEndpoint(
        GRAPHQL_PATH, router, settings.server.max_body_bytes, app.state
    )
    if settings.graphql.graphiql:
        app.mount(GRAPHQL_PATH + ASSETS_PATH, graphiql_assets())
    if settings.server.dashboard:
        app.add_api_route("/", dashboard_page, methods=["GET"])
        app.mount(assets_url(), dashboard_assets())
    app.add_api_route("/healthz", _alive, methods=["GET"])
    app.add_api_route("/readyz", _ready, methods=["GET"])
    if settings.metrics.enabled and settings.metrics.port is None:
        on_loopback = is_loopback(settings.server.host)
        endpoint = metrics_endpoint(telemetry, settings.metrics, on_loopback)
        app.add_api_route("/metrics", endpoint, methods=["GET"])
    return app


@contextmanager
def young_collections_after(threshold: int) -> Iterator[None]:
    """The collector's first threshold while the app runs (then as it was)."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@asynccontextmanager
async def _embedded_worker(runtime: Runtime) -> AsyncIterator[None]:
    """A worker of every queue beside the API, stopped (gracefully) before the rest."""
    from dspex_gql.workers import work  # procrastinate is an optional extra

    stop = asyncio.Event()
    task = asyncio.create_task(work(runtime, stop), name="embedded worker")
    try:
        yield
    finally:
        stop.set()
        await task


async def run_worker(
    settings: Settings, queues: Sequence[str] | None = None, concurrency: int | None = None
) -> None:
    """`dspex-gql worker`: the runtime without the API, working until SIGTERM or SIGINT; then
    it stops as a service does (running jobs get the shutdown grace)."""
    from dspex_gql.workers import QUEUES, work

    adapters, custom_programs = AdapterRegistry.default(), CustomProgramRegistry.from_entry_points()
    telemetry = Telemetry(settings.metrics, start_tracing(settings.tracing))
    async with AsyncExitStack() as stack:
        runtime = await _start(stack, settings, adapters, custom_programs, dspy_probe, telemetry)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        await work(runtime, stop, queues or QUEUES, concurrency)


def allow_cross_origin(app: FastAPI, origins: list[str]) -> None:
    """Browser pages on `origins` may call the API (the websocket checks them in the router).
    Added last, so outermost: a 413 from a middleware inside is readable too. Credentials travel
    in the Authorization header, never in cookies: no `allow_credentials`."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["authorization", "content-type", "x-request-id"],
        expose_headers=["x-request-id"],
    )


def refuse_unsafe(settings: Settings) -> None:
    """Anonymous admin access is for a developer's own machine: only on a loopback address. An
    admin to make at start must be a valid user."""
    refuse_a_bad_admin(settings.admin)
    if settings.auth.dev_anonymous_admin and not is_loopback(settings.server.host):
        raise ValueError(
            "DSPEX_AUTH_DEV_ANONYMOUS_ADMIN is only allowed when the server binds to a loopback "
            f"address (127.0.0.1, ::1, localhost), not {settings.server.host!r}"
        )


def secrets_of(settings: Settings) -> SecretBox:
    """With DSPEX_SECRETS_KEY; without it, a key generated once into a file, on loopback only
    (like anonymous admin access, a developer's machine): elsewhere secrets are refused."""
    local = is_loopback(settings.server.host)
    return secret_box(settings.secrets, dev_key_file=default_key_file(settings) if local else None)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _start(
    stack: AsyncExitStack,
    settings: Settings,
    adapters: AdapterRegistry,
    custom_programs: CustomProgramRegistry,
    probe_language_model: LanguageModelProbe,
    telemetry: Telemetry,
) -> Runtime:
    stack.callback(telemetry.tracing.shutdown)
    if settings.metrics.enabled and settings.metrics.port is not None:
        stack.enter_context(metrics_listener(telemetry, settings.metrics))
    if settings.database.migrate_on_start:
        await migrations.upgrade(settings.database.url)
    engine = create_engine(settings.database)
    stack.push_async_callback(engine.dispose)
    telemetry.tracing.instrument(engine)
    checkpoints = await stack.enter_async_context(
        wal_checkpoints(engine, settings.database.sqlite_checkpoint_seconds)
    )
    uow = UnitOfWorkFactory.of(engine, settings.database)
    broadcast = settings.broadcast
    hub = await stack.enter_async_context(
        Hub(
            broadcast.url,
            buffer_size=broadcast.subscriber_buffer,
            heartbeat_interval=broadcast.heartbeat_seconds,
        )
    )
    execution = settings.execution
    lease = await stack.enter_async_context(ProcessLease(uow, execution.lease_seconds))
    reporter = await stack.enter_async_context(
        ProgressReporter(
            uow, interval=execution.progress_interval_ms / 1000, patience=lease.interval
        )
    )
    orchestrator = await stack.enter_async_context(
        Orchestrator(
            max_concurrency=execution.max_concurrency,
            shutdown_grace=execution.shutdown_grace_seconds,
            lanes={
                OPTIMIZATION_LANE: settings.optimization.max_running,
                DAG_LANE: settings.dag.max_running,
            },
        )
    )
    queue = RunQueue(QUEUED_KINDS) if settings.jobs == "procrastinate" else None
    runs = Runs(orchestrator, reporter, lease, hub, queue)
    invoker = ProgramInvoker(adapters, custom_programs, observe=telemetry.lm_call)
    telemetry.watch(Sources(lambda: orchestrator.lanes, runs.outcomes, hub))
    stack.callback(telemetry.watch, None)
    metrics = MetricRegistry.default()
    secrets = secrets_of(settings)
    reclaimers: list[Reclaimer] = [InterruptedInitializations()]
    if queue is None:  # else a dead worker's jobs go back to the queue (`workers.py`)
        reclaimers += [
            InterruptedExecutions(runs),
            ResumedOptimizations(runs, invoker, metrics, secrets),
            ResumedDagRuns(runs, invoker, settings.dag, secrets),
        ]
    reclamation = await stack.enter_async_context(RunReclamation(uow, lease, reclaimers))
    passwords, tokens = Passwords(settings.auth), Tokens(settings.auth)
    keys = await stack.enter_async_context(KeyCache(hub, settings.auth.api_key_cache_seconds))
    authenticator = Authenticator(
        uow, tokens, keys, anonymous_admin=settings.auth.dev_anonymous_admin
    )
    limits = settings.limits
    buckets = await stack.enter_async_context(open_buckets(limits, settings.broadcast))
    return Runtime(
        settings=settings,
        engine=engine,
        uow=uow,
        hub=hub,
        runs=runs,
        reclamation=reclamation,
        adapters=adapters,
        custom_programs=custom_programs,
        invoker=invoker,
        metrics=metrics,
        passwords=passwords,
        tokens=tokens,
        authenticator=authenticator,
        sessions=SessionService(uow, passwords, tokens, settings.auth, limits, buckets),
        requests=buckets.limiter("requests", limits.request_burst, limits.requests_per_second),
        secrets=secrets,
        probe_language_model=probe_language_model,
        telemetry=telemetry,
        checkpoints=checkpoints,
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
    body = {"status": "ready" if ready else "unavailable"}
    body |= {name: "ok" if ok else "down" for name, ok in checks.items()}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database_ok(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
