"""Taking over the runs nobody runs any more, at start-up and then every lease interval.

    async with RunReclamation(uow, lease, [executions, initializations, optimizations]):
        ...   # swept once on entry, then periodically until exit

Each `Reclaimer` claims its kind's unfinished rows that `Abandoned` matches, in one statement
(so two processes sweeping at once never both take a row), and queues what follows — an event,
a resumed job — on the unit of work, to run after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.orchestrator.lease import Abandoned, ProcessLease, forget
from dspex_gql.orchestrator.periodic import repeating

logger = logging.getLogger(__name__)


class Reclaimer(Protocol):
    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        """Take over this kind's abandoned runs; how many there were."""
        ...


class RunReclamation:
    def __init__(
        self, uow: UnitOfWorkFactory, lease: ProcessLease, reclaimers: Sequence[Reclaimer]
    ) -> None:
        self._uow = uow
        self._lease = lease
        self._reclaimers = reclaimers
        self._sweeping = contextlib.AsyncExitStack()

    async def __aenter__(self) -> RunReclamation:
        await self.sweep()
        await self._sweeping.enter_async_context(
            repeating(self._lease.interval, self.sweep, "look for abandoned runs")
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._sweeping.aclose()

    async def sweep(self) -> int:
        taker = await self._lease.held()  # before the transaction: SQLite has one writer
        async with self._uow() as tx:
            dead = await self._lease.dead_processes(tx.session)
            abandoned = Abandoned(taker=taker, dead=dead)
            taken = 0
            for reclaimer in self._reclaimers:
                taken += await reclaimer.reclaim(tx, abandoned)
            await forget(tx.session, dead)
        if taken:
            logger.info("took over %d unfinished runs nobody was running", taken)
        return taken
