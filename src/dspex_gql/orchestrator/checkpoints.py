"""SQLite's WAL checkpoints, off the request path.

Left to itself, SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that
commit copies the WAL into the database file and syncs it, a few ms that land on one unlucky
request (on this machine the p99 of `createDag` and `executeDag` on SQLite: 8 to 9 ms with it, 4
to 6 without). The service's connections (`db/engine.py`) leave it to a background task that
checkpoints every `period` seconds in PASSIVE mode, which waits for no reader or writer and which
none of them waits for. SQLite's own checkpoint stays as a backstop, at `WAL_BACKSTOP_PAGES`,
should the task fall behind or not run at all (a CLI command, a test's engine). When the last
connection to the file closes, SQLite checkpoints what is left.

    async with wal_checkpoints(engine, period=1.0) as checkpoints:   # None on PostgreSQL
        ...
        done = await checkpoints.next()   # the next one's outcome
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from dspex_gql.db.engine import is_sqlite
from dspex_gql.orchestrator.periodic import repeating


@dataclass(frozen=True)
class Checkpoint:
    """What `PRAGMA wal_checkpoint(PASSIVE)` answered."""

    busy: bool
    """Another connection was checkpointing."""
    wal_pages: int
    checkpointed_pages: int


async def checkpoint(engine: AsyncEngine) -> Checkpoint:
    """Copy what no reader still needs from the WAL into the database file, without waiting."""
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        row: tuple[int, ...] = tuple(result.one())
    return Checkpoint(busy=bool(row[0]), wal_pages=row[1], checkpointed_pages=row[2])


class WalCheckpoints:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._next: asyncio.Future[Checkpoint] | None = None

    async def run(self) -> Checkpoint:
        done = await checkpoint(self._engine)
        waiting, self._next = self._next, None
        if waiting is not None and not waiting.done():
            waiting.set_result(done)
        return done

    async def next(self) -> Checkpoint:
        """The outcome of the next checkpoint to finish."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._next)


@contextlib.asynccontextmanager
async def wal_checkpoints(
    engine: AsyncEngine, period: float
) -> AsyncIterator[WalCheckpoints | None]:
    """Checkpoint every `period` seconds while the block runs, on SQLite."""
    if not is_sqlite(engine.url.drivername):
        yield None
        return
    checkpoints = WalCheckpoints(engine)
    async with repeating(period, checkpoints.run, "checkpoint SQLite's WAL"):
        yield checkpoints
