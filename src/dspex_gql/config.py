"""Settings, read from `DSPEX_*` environment variables once, in `create_app` or the CLI.

Each section has its own prefix, e.g. `DSPEX_DATABASE_URL`, `DSPEX_BROADCAST_URL`,
`DSPEX_EXECUTION_MAX_CONCURRENCY`. Tests build their own:
`Settings(database=DatabaseSettings(url=...))`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIS_SCHEMES = ("redis", "rediss", "unix")
NO_REDIS = "none"
WEBSOCKET_PROTOCOL = "dspex_gql.graphql.websocket_server:WebSocketProtocol"
"""uvicorn's `ws` protocol class (uvicorn imports it): the GraphQL endpoint's websockets below
ASGI."""
Section = TypeVar("Section", bound=BaseSettings)


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=f"DSPEX_{prefix}", extra="forbid")


class FileVariables(PydanticBaseSettingsSource):
    """`DSPEX_DATABASE_URL_FILE=/run/secrets/db` stands for `DSPEX_DATABASE_URL`: the file's
    content, without its final newline (Docker and Kubernetes secrets). Only for the settings a
    section lists in `from_files`; setting a variable and its `_FILE` both is an error."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read in `__call__`

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", ""))
        values: dict[str, Any] = {}
        for name in getattr(self.settings_cls, "from_files", ()):
            variable = f"{prefix}{name}".upper()
            path = os.environ.get(f"{variable}_FILE")
            if path is None:
                continue
            if variable in os.environ:
                raise ValueError(f"{variable} and {variable}_FILE are both set: keep one")
            values[name] = read_secret_file(Path(path), f"{variable}_FILE")
        return values


def read_secret_file(path: Path, variable: str) -> str:
    try:
        return path.read_text().removesuffix("\n").removesuffix("\r")
    except OSError as error:
        raise ValueError(f"{variable}: cannot read {path}: {error.strerror}") from None


class FileSection(BaseSettings):
    """Settings read from the environment, and from files for those in `from_files`."""

    from_files: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = FileVariables(settings_cls)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings


class DatabaseSettings(FileSection):
    model_config = _section("DATABASE_")
    from_files = ("url",)

    url: str = "sqlite+aiosqlite:///dspex.db"
    migrate_on_start: bool = True
    echo: bool = False
    pool_size: int = Field(default=10, ge=1)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    """The longest wait for a new connection, or for a free one from the pool."""
    statement_timeout_seconds: float = Field(default=15.0, gt=0)
    """The longest wait for one statement's answer (PostgreSQL), or for SQLite's write lock."""
    sqlite_checkpoint_seconds: float = Field(default=1.0, gt=0)
    """How often the service moves SQLite's write-ahead log into the database file, in the
    background (a commit no longer does it)."""


class BroadcastSettings(FileSection):
    model_config = _section("BROADCAST_")
    from_files = ("url",)

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
    lease_seconds: float = Field(default=30.0, ge=0.3)
    """A process renews its lease every third of this; one that has not renewed it for this
    long is presumed dead, and another process takes its unfinished runs over."""


class OptimizationSettings(BaseSettings):
    model_config = _section("OPTIMIZATION_")

    max_running: int = Field(default=4, ge=1)
    """Optimization loops at once per process (apart from executions); the rest wait PENDING."""
    max_iterations: int = Field(default=10_000, ge=1)
    max_training_examples: int = Field(default=1_000, ge=1)
    max_training_bytes: int = Field(default=2_097_152, ge=1)
    max_concurrency: int = Field(default=16, ge=1)
    """Examples of one evaluation run at once, at most."""
    default_concurrency: int = Field(default=4, ge=1)
    progress_messages_per_second: float = Field(default=10.0, gt=0)
    """Per subscriber of `optimizationProgress`, whatever the evaluation rate."""


class DagSettings(BaseSettings):
    model_config = _section("DAG_")

    max_running: int = Field(default=8, ge=1)
    """DAG runs at once per process (apart from executions); the rest wait PENDING."""
    max_parallel_nodes: int = Field(default=16, ge=1)
    """Program calls of one run under way at once (a fanned-out node's items count one each); a
    node waiting for one stays PENDING."""
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    """Before a node's first retry; doubled for each next one, at most `retry_backoff_max`."""
    retry_backoff_max_seconds: float = Field(default=30.0, ge=0)
    max_context_bytes: int = Field(default=262_144, ge=1)
    max_definition_bytes: int = Field(default=1_048_576, ge=1)
    """Of a DAG's definition as JSON (`createDag`, `updateDag`)."""
    progress_messages_per_second: float = Field(default=10.0, gt=0)
    """Per subscriber of `dagRunUpdated` and `nodeExecutionUpdated`, whatever the node rate."""


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
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    dashboard: bool = True
    """Serve the dashboard at `/` (it uses the public API, with an API key like any client)."""
    gc_freeze: bool = True
    """After start-up, move what exists to the permanent GC generation: full collections then
    scan only what requests create (measured in bench/: p99 roughly halves under load)."""
    gc_threshold: int = Field(default=10_000, ge=1)
    """New container objects (net of those freed) that start a collection of the youngest GC
    generation; Python's default is 700. A request makes a few hundred, most freed by reference
    counting, so at 700 the collector runs every few requests and rescans what requests in flight
    hold (bench/program_get.py: 8 % of the server's time in GC pauses, 3 % at 10,000)."""
    ws_compression: bool = False
    """Accept websocket compression (permessage-deflate) when a client offers it, as browsers
    do. Off by default: each compressing socket keeps ~42 KiB of zlib state and costs ~30 % more
    CPU per message (bench/subscriptions.py), for messages that are mostly small; worth turning on
    for clients on slow links that watch large snapshots."""

    def uvicorn_options(self) -> dict[str, object]:
        """How uvicorn serves the app (`dspex-gql serve`, and the benchmarks that stand for it)."""
        return {
            "ws": WEBSOCKET_PROTOCOL,
            "ws_max_size": self.max_body_bytes,  # an over-limit frame is refused unbuffered
            "ws_per_message_deflate": self.ws_compression,
        }


class CorsSettings(BaseSettings):
    model_config = _section("CORS_")

    origins: Annotated[list[str], NoDecode] = []
    """Browser pages allowed to call the API and open its websocket from another origin, comma
    separated: `DSPEX_CORS_ORIGINS=https://app.example.com,http://localhost:5173` (`*`: any)."""

    @field_validator("origins", mode="before")
    @classmethod
    def _comma_separated(cls, origins: object) -> object:
        if isinstance(origins, str):
            return [origin.strip() for origin in origins.split(",") if origin.strip()]
        return origins

    @field_validator("origins")
    @classmethod
    def _as_browsers_send_them(cls, origins: list[str]) -> list[str]:
        return [browser_origin(origin) for origin in origins]


def browser_origin(text: str) -> str:
    """An origin as a browser's `Origin` header spells it: `HTTPS://App.example.com:443/` is
    `https://app.example.com`. Anything with a path, a query or credentials is refused."""
    if text == "*":
        return text
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    extra = parts.path not in ("", "/") or parts.query or parts.fragment or parts.username
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port == -1 or extra:
        raise ValueError(f"{text!r} is not an origin like https://app.example.com[:port]")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    explicit_port = f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{explicit_port}"


class AuthSettings(FileSection):
    model_config = _section("AUTH_")
    from_files = ("jwt_secret",)

    jwt_secret: SecretStr | None = None
    """At least 32 random bytes. Unset: a random per-process key (tokens end at restart)."""
    jwt_issuer: str = "dspex-gql"
    jwt_audience: str = "dspex-gql"
    token_ttl_seconds: int = Field(default=43_200, ge=60)
    allow_signup: bool = Field(
        default=False, validation_alias=AliasChoices("DSPEX_ALLOW_SIGNUP", "allow_signup")
    )
    dev_anonymous_admin: bool = False
    """Requests without credentials act as the first admin; refused unless bound to loopback."""
    public_introspection: bool = True
    api_key_cache_seconds: float = Field(default=10.0, ge=0)
    """How long a process trusts what it read about an API key (0: it reads it on every
    request). Revoking a key, deactivating its user or changing their role ends it everywhere
    at once through the pub/sub hub; while the hub is down nothing is cached."""
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    @field_validator("jwt_secret")
    @classmethod
    def _strong(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None:
            return None
        raw = secret.get_secret_value().encode()
        if len(raw) < 32 or len(set(raw)) < 16:
            raise ValueError("the JWT secret must be at least 32 random bytes")
        return secret


MAKE_A_FERNET_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SecretsSettings(BaseSettings):
    model_config = _section("SECRETS_") | SettingsConfigDict(hide_input_in_errors=True)

    key: SecretStr | None = None
    """The Fernet key that encrypts secrets at rest (language models' API keys). Unset: the key
    in `key_file`; without one, only a server bound to loopback stores them, with a key it
    generates once into `key_file`."""
    key_file: Path | None = None
    """A file holding the key (`DSPEX_SECRETS_KEY_FILE`, as for the other secrets: any host
    reads it). On loopback, where the key is generated if the file does not exist yet. Unset:
    beside the SQLite database (`dspex.secrets.key`), or in the working directory."""

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if self.key is not None and self.key_file is not None:
            raise ValueError("DSPEX_SECRETS_KEY and DSPEX_SECRETS_KEY_FILE are both set: keep one")
        return self

    @field_validator("key")
    @classmethod
    def _a_fernet_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and not is_fernet_key(key.get_secret_value()):
            raise ValueError(
                "DSPEX_SECRETS_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                f"make one with: {MAKE_A_FERNET_KEY}"
            )
        return key


def is_fernet_key(text: str | bytes) -> bool:
    try:
        Fernet(text)
    except (ValueError, TypeError):
        return False
    return True


class LimitsSettings(FileSection):
    model_config = _section("LIMITS_") | SettingsConfigDict(hide_input_in_errors=True)
    from_files = ("redis_url",)
    """(Inputs are hidden from errors: a Redis url may hold a password.)"""

    requests_per_second: float = Field(default=20.0, gt=0)
    request_burst: int = Field(default=60, ge=1)
    sign_in_attempts_per_account: int = Field(default=10, ge=1)
    sign_in_attempts_per_address: int = Field(default=30, ge=1)
    sign_in_window_seconds: float = Field(default=900.0, gt=0)
    redis_url: str | None = None
    """Where every replica keeps the buckets, so that together they allow each budget once.
    Unset: DSPEX_BROADCAST_URL when that is a Redis (redis:// or rediss://), else each process
    keeps its own; `none`: each process keeps its own whatever the broadcast."""
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    """The longest a request waits for Redis; past it, or when Redis is down, it is allowed."""

    @field_validator("redis_url")
    @classmethod
    def _redis_or_none(cls, url: str | None) -> str | None:
        if url is None or url == NO_REDIS or urlsplit(url).scheme in REDIS_SCHEMES:
            return url
        raise ValueError(
            f"DSPEX_LIMITS_REDIS_URL must be redis://host:6379/0 (or rediss://, unix://) or "
            f"{NO_REDIS!r}, not {url.split(':', 1)[0]}:…"
        )

    def shared_store(self, broadcast: BroadcastSettings) -> str | None:
        """The Redis url the replicas share their buckets in, or None: each keeps its own."""
        if self.redis_url is not None:
            return None if self.redis_url == NO_REDIS else self.redis_url
        if urlsplit(broadcast.url).scheme in ("redis", "rediss"):
            return broadcast.url
        return None


class AdminSettings(FileSection):
    """The first admin, made at start when no user has this email yet (so once, whatever the
    restarts and replicas), in the organization named `organization` (made if missing)."""

    model_config = _section("ADMIN_") | SettingsConfigDict(hide_input_in_errors=True)
    from_files = ("password",)

    email: str | None = None
    password: SecretStr | None = None
    name: str = "Admin"
    organization: str = "default"

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.email is None) != (self.password is None):
            raise ValueError(
                "DSPEX_ADMIN_EMAIL and DSPEX_ADMIN_PASSWORD (or DSPEX_ADMIN_PASSWORD_FILE) go "
                "together: set both to have the first admin made at start, or neither"
            )
        return self


class MetricsSettings(FileSection):
    model_config = _section("METRICS_") | SettingsConfigDict(hide_input_in_errors=True)
    from_files = ("token",)

    enabled: bool = True
    token: SecretStr | None = None
    """`/metrics` on the API port answers only `Authorization: Bearer <token>`. Unset: it answers
    anyone when the server binds a loopback address, and no one otherwise."""
    port: int | None = Field(default=None, ge=0, le=65535)
    """Serve the metrics on a listener of their own on this port instead of the API's `/metrics`
    (for a scraper on a private network; 0: any free port)."""
    host: str = "127.0.0.1"
    """The address that listener binds."""
    max_operation_names: int = Field(default=200, ge=1)
    """Distinct operation names labelled; later new names count as `other`."""
    max_models: int = Field(default=100, ge=1)
    """Distinct language models labelled; later new ones count as `other`."""


class LogSettings(BaseSettings):
    model_config = _section("LOG_")

    format: Literal["text", "json"] = "text"
    """`json`: one JSON object a line (`time level logger message request_id`, `exception`)."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, format: object) -> object:
        if format not in ("text", "json"):
            raise ValueError(f"DSPEX_LOG_FORMAT must be text or json, not {format!r}")
        return format

    @field_validator("level", mode="before")
    @classmethod
    def _known_level(cls, level: object) -> object:
        level = level.upper() if isinstance(level, str) else level
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(
                f"DSPEX_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}"
            )
        return level


class TracingSettings(BaseSettings):
    model_config = _section("OTEL_")

    endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "DSPEX_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "endpoint"
        ),
    )
    """An OTLP/HTTP collector (`http://collector:4318`): requests, SQL statements and language
    model calls are traced there (needs `pip install dspex-gql[otel]`). Unset: no tracing."""
    service_name: str = "dspex-gql"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSPEX_", extra="forbid")

    production: bool = False
    """A public deployment: GraphiQL and introspection without a credential default to off
    (an explicit DSPEX_GRAPHQL_GRAPHIQL or DSPEX_AUTH_PUBLIC_INTROSPECTION still wins)."""
    jobs: Literal["inprocess", "procrastinate"] = "inprocess"
    """Where runs run: `inprocess`, as asyncio tasks of the process that started them; or
    `procrastinate`, as jobs of a PostgreSQL queue that worker processes take (PostgreSQL only)."""
    jobs_embedded_worker: bool = True
    """With `jobs=procrastinate`: `serve` runs a worker of every queue too (`--no-worker`: not)."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    optimization: OptimizationSettings = Field(default_factory=OptimizationSettings)
    dag: DagSettings = Field(default_factory=DagSettings)
    graphql: GraphQLSettings = Field(default_factory=GraphQLSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @model_validator(mode="after")
    def _procrastinate_on_postgresql(self) -> Self:
        if self.jobs == "procrastinate" and not self.database.url.startswith("postgresql"):
            raise ValueError(
                "DSPEX_JOBS=procrastinate needs PostgreSQL (its job queue lives there), but "
                f"DSPEX_DATABASE_URL is {self.database.url.split(':', 1)[0]}: use "
                "postgresql+asyncpg://user:password@host/db, or DSPEX_JOBS=inprocess"
            )
        return self

    @model_validator(mode="after")
    def _production_defaults(self) -> Self:
        if self.production:
            self.graphql = _unless_set(self.graphql, graphiql=False)
            self.auth = _unless_set(self.auth, public_introspection=False)
        return self


def _unless_set(section: Section, **defaults: object) -> Section:
    """`section` with `defaults` for the fields its environment or caller did not set."""
    update = {k: v for k, v in defaults.items() if k not in section.model_fields_set}
    return section.model_copy(update=update)
