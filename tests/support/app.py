"""The app under test: settings for tests, and the app started with them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from dspex_gql.app import create_app
from dspex_gql.config import (
    AuthSettings,
    BroadcastSettings,
    DatabaseSettings,
    ExecutionSettings,
    LimitsSettings,
    SecretsSettings,
    ServerSettings,
    Settings,
)
from dspex_gql.engine.adapters.dspy import probe_language_model as dspy_probe
from dspex_gql.engine.language_models import LanguageModelProbe

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
TEST_SECRETS_KEY = "NRSjPQ9NCE9iYcOr-cujphMFRbDmgOArcdmWO7YJ8hU="
"""A Fernet key: tests store API keys without generating a key file anywhere."""

TEST_CONNECT_TIMEOUT_SECONDS = 30.0
TEST_STATEMENT_TIMEOUT_SECONDS = 60.0
"""The production bounds (5 s, 15 s) are for a silent link; on a loaded 2-core CI machine a
PostgreSQL connect once took longer than 5 s. The drills that test the bounds set their own."""


def make_settings(database_url: str, **sections: object) -> Settings:
    defaults: dict[str, object] = {
        "database": DatabaseSettings(
            url=database_url,
            migrate_on_start=False,
            connect_timeout_seconds=TEST_CONNECT_TIMEOUT_SECONDS,
            statement_timeout_seconds=TEST_STATEMENT_TIMEOUT_SECONDS,
        ),
        "broadcast": BroadcastSettings(url="memory://", heartbeat_seconds=1.0),
        "execution": ExecutionSettings(shutdown_grace_seconds=0, progress_interval_ms=20),
        "server": ServerSettings(gc_freeze=False),
        "auth": AuthSettings(
            jwt_secret=TEST_JWT_SECRET,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
        ),
        "limits": LimitsSettings(requests_per_second=1000, request_burst=1000),
        "secrets": SecretsSettings(key=TEST_SECRETS_KEY),
    }
    return Settings(**(defaults | sections))  # type: ignore[arg-type]


def with_lease(settings: Settings, seconds: float, database_url: str | None = None) -> Settings:
    """`settings` with a process lease of `seconds` (and the database at `database_url`)."""
    execution = ExecutionSettings(
        shutdown_grace_seconds=0, progress_interval_ms=20, lease_seconds=seconds
    )
    changes: dict[str, object] = {"execution": execution}
    if database_url is not None:
        changes["database"] = DatabaseSettings(url=database_url, migrate_on_start=False)
    return settings.model_copy(update=changes)


@asynccontextmanager
async def running(
    settings: Settings, *, probe_language_model: LanguageModelProbe = dspy_probe
) -> AsyncIterator[FastAPI]:
    """An app with these settings, started, and stopped at the end of the block."""
    app = create_app(settings, probe_language_model=probe_language_model)
    async with app.router.lifespan_context(app):
        try:
            yield app
        finally:
            await stop_serving(app)


@dataclass
class Served:
    """The app on a real socket in the test's event loop, as `dspex-gql serve` serves it:
    uvicorn with the service's options (the GraphQL websockets below ASGI), the lifespan left to
    `running`."""

    server: uvicorn.Server
    listening: socket.socket

    @property
    def websocket_url(self) -> str:
        host, port = self.listening.getsockname()[:2]
        return f"ws://{host}:{port}/graphql"


async def served(app: FastAPI, **options: object) -> Served:
    """The app served, started at the first call (a test's first websocket; sockets opened at
    once share it); `options` are uvicorn's, over the service's, when this call starts it."""
    starting: asyncio.Task[Served] | None = getattr(app.state, "served", None)
    if starting is None:
        starting = app.state.served = asyncio.create_task(_serve(app, options))
    return await asyncio.shield(starting)


async def _serve(app: FastAPI, options: dict[str, object]) -> Served:
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(128)
    options = app.state.runtime.settings.server.uvicorn_options() | options
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, **options)  # type: ignore[arg-type]
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[listening])  # uvicorn's main loop only ticks: not needed here
    LISTENING.add(listening)
    return Served(server, listening)


async def stop_serving(app: FastAPI) -> None:
    """Stop serving as uvicorn's shutdown does (each open socket told so, 1012, and its
    handler's end awaited), without its 0.1 s polls: a test's teardown waits for nothing idle."""
    starting: asyncio.Task[Served] | None = getattr(app.state, "served", None)
    if starting is None:
        return
    del app.state.served
    started = await starting
    server = started.server
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    await asyncio.gather(*server.server_state.tasks, return_exceptions=True)
    started.listening.close()
    LISTENING.discard(started.listening)


LISTENING: set[socket.socket] = set()
"""The listening sockets of apps served and not stopped yet: an app started without `running()`
is never stopped, and `close_leftover_listeners` closes its socket at the end of the session."""


def close_leftover_listeners() -> None:
    for listening in LISTENING:
        listening.close()
    LISTENING.clear()
