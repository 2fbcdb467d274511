"""PostgreSQL's pool check: a transaction on the service's engine against one on an engine with
SQLAlchemy's own asyncpg adapter, same server, same pool settings.

    python -m bench.pings --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
                          [--transactions 2000] [--rounds 5]

Each transaction checks a connection out of the pool (the pool checks it first:
`pool_pre_ping`), runs `SELECT 1` and gives it back, one after another. The service's engine
(`db/engine.create_engine`, `db/postgresql_driver.py`) lends a connection given back less than
`PING_AFTER_IDLE_SECONDS` ago without a round trip (`service`, as here, one transaction after
another) and checks one idle longer with one round trip (`service_idle`: the same engine, each
connection made to look idle as it is given back); the baseline (`create_async_engine` with the
same arguments but no `module`) checks with SQLAlchemy's three. The three alternate, `--rounds`
times. Nothing is written: any database on the server will do.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.common import emit, log, machine, run, versions, warn_if_busy
from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import JSON_CODEC, create_engine


def looking_idle(settings: DatabaseSettings) -> AsyncEngine:
    """The service's engine, each connection given back as if it had been idle for long."""
    engine = create_engine(settings)

    def idle_since_ever(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.returned_at = -math.inf

    event.listen(engine.sync_engine, "checkin", idle_since_ever)  # after the service's own
    return engine


def sqlalchemy_default(settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        settings.url, pool_size=settings.pool_size, pool_pre_ping=True, **JSON_CODEC
    )


async def transactions_us(engine: AsyncEngine, count: int) -> float:
    """Microseconds per checkout + `SELECT 1` + checkin."""
    started = time.perf_counter()
    for _ in range(count):
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    return (time.perf_counter() - started) / count * 1e6


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    settings = DatabaseSettings(url=args.database_url)
    engines = {
        "service": create_engine(settings),
        "service_idle": looking_idle(settings),
        "baseline_sqlalchemy": sqlalchemy_default(settings),
    }
    samples: dict[str, list[float]] = {name: [] for name in engines}
    try:
        for engine in engines.values():
            await transactions_us(engine, 100)  # connections opened, statements cached
        for round_number in range(args.rounds):
            for name, engine in engines.items():
                samples[name].append(await transactions_us(engine, args.transactions))
            log(
                f"round {round_number + 1}: "
                + ", ".join(f"{n} {s[-1]:.0f} µs" for n, s in samples.items())
            )
    finally:
        for engine in engines.values():
            await engine.dispose()
    medians = {name: round(statistics.median(us), 1) for name, us in samples.items()}
    return {
        "benchmark": "pings",
        "setup": "sequential transactions: pool checkout (checked), SELECT 1, checkin",
        "versions": versions(),
        "machine": machine() | {"load_average_1m_before": load_before},
        "transactions_per_round": args.transactions,
        "us_per_transaction": {name: [round(us, 1) for us in s] for name, s in samples.items()},
        "median_us_per_transaction": medians,
        "saved_us_per_transaction": {
            name: round(medians["baseline_sqlalchemy"] - medians[name], 1)
            for name in ("service", "service_idle")
        },
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a postgresql+asyncpg:// URL")
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()
