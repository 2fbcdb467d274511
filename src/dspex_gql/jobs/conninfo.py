"""Our database url as a libpq connection string, for procrastinate's psycopg connections."""

from __future__ import annotations

import math

from psycopg import ProgrammingError
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

RENAMED = {"ssl": "sslmode", "timeout": "connect_timeout"}
"""asyncpg's names of options libpq also has (`?ssl=require` is libpq's `sslmode=require`)."""
ASYNCPG_ONLY = frozenset(
    {
        "prepared_statement_cache_size",
        "prepared_statement_name_func",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
        "command_timeout",
    }
)
"""Options of asyncpg's own statement cache and timeouts: libpq has no such thing."""
SSL_FLAGS = {"true": "require", "false": "disable"}


def conninfo(database_url: str) -> str:
    """`postgresql+asyncpg://app:s3cr%40t@db:5432/dspex?ssl=require` ->
    `host=db port=5432 user=app password=s3cr@t dbname=dspex sslmode=require`."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"procrastinate needs PostgreSQL, not {url.get_backend_name()}")
    options: dict[str, str | int | None] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    for name, value in url.query.items():
        if name == "host":  # several hosts, `?host=a:5432&host=b:5432`
            options |= _hosts((value,) if isinstance(value, str) else value)
        elif name not in ASYNCPG_ONLY:
            text = ",".join(value) if isinstance(value, tuple) else value
            options[RENAMED.get(name, name)] = _libpq_value(RENAMED.get(name, name), text)
    try:
        return make_conninfo("", **{k: v for k, v in options.items() if v is not None})
    except ProgrammingError as error:
        raise ValueError(f"the database url has an option libpq does not know: {error}") from error


def _libpq_value(name: str, value: str) -> str:
    if name == "sslmode":
        return SSL_FLAGS.get(value.lower(), value)
    if name == "connect_timeout":
        return str(math.ceil(float(value)))
    return value


def _hosts(hosts: tuple[str, ...]) -> dict[str, str | int | None]:
    """`("a:5432", "b")` -> `host=a,b port=5432,` (libpq's lists; an empty port: the default)."""
    pairs = [
        host.rsplit(":", 1) if host.rsplit(":", 1)[-1].isdigit() else [host, ""] for host in hosts
    ]
    return {
        "host": ",".join(pair[0] for pair in pairs),
        "port": ",".join(pair[1] for pair in pairs),
    }
