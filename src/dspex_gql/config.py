"""Settings, read from `DSPEX_*` environment variables once, in `create_app` or the CLI.

Each section has its own prefix, e.g. `DSPEX_DATABASE_URL`, `DSPEX_BROADCAST_URL`,
`DSPEX_EXECUTION_MAX_CONCURRENCY`. Tests build their own:
`Settings(database=DatabaseSettings(url=...))`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=f"DSPEX_{prefix}", extra="forbid")


class DatabaseSettings(BaseSettings):
    model_config = _section("DATABASE_")

    url: str = "sqlite+aiosqlite:///dspex.db"
    migrate_on_start: bool = True
    echo: bool = False
    pool_size: int = Field(default=10, ge=1)


class BroadcastSettings(BaseSettings):
    model_config = _section("BROADCAST_")

    url: str = "memory://"
    subscriber_buffer: int = Field(default=256, ge=1)
    heartbeat_seconds: float = Field(default=5.0, gt=0)


class ExecutionSettings(BaseSettings):
    model_config = _section("EXECUTION_")

    max_concurrency: int = Field(default=32, ge=1)
    progress_interval_ms: int = Field(default=100, ge=1)
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    max_wait_ms: int = Field(default=300_000, ge=0)
    max_input_bytes: int = Field(default=262_144, ge=1)


class GraphQLSettings(BaseSettings):
    model_config = _section("GRAPHQL_")

    max_depth: int = Field(default=12, ge=1)
    max_tokens: int = Field(default=5_000, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_page_size: int = Field(default=1_000, ge=1)
    graphiql: bool = True


class ServerSettings(BaseSettings):
    model_config = _section("SERVER_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    default_organization: str = "default"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    gc_freeze: bool = True
    """After start-up, move what exists to the permanent GC generation: full collections then
    scan only what requests create (measured in bench/: p99 roughly halves under load)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSPEX_", extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    graphql: GraphQLSettings = Field(default_factory=GraphQLSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
