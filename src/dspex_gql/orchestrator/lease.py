"""This process's lease: a `service_processes` row, renewed every third of `seconds`.

    async with ProcessLease(uow, seconds=30) as lease:
        execution.process_id = await lease.held()   # the id, renewed first if overdue

While the lease is renewed, nobody takes this process's runs; when it is released (at shutdown)
or runs out (the process died, or lost the database for longer than `seconds`), they are
reclaimed by whichever process sweeps next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.clock import database_now
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.orchestrator.periodic import repeating
from dspex_gql.orchestrator.processes import ServiceProcess, pid_alive, this_machine

logger = logging.getLogger(__name__)

_HELD_HERE: set[uuid.UUID] = set()
"""Leases held by this OS process (tests run several services in one)."""


class ProcessLease:
    def __init__(self, uow: UnitOfWorkFactory, seconds: float) -> None:
        self.id = uuid.uuid4()
        self.seconds = seconds
        self._uow = uow
        self._machine = this_machine()
        self._renewed = -float("inf")
        self._renewing = contextlib.AsyncExitStack()

    @property
    def interval(self) -> float:
        return self.seconds / 3

    async def __aenter__(self) -> ProcessLease:
        _HELD_HERE.add(self.id)
        await self.renew()
        await self._renewing.enter_async_context(
            repeating(self.interval, self.renew, "renew this process's lease")
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._renewing.aclose()
        _HELD_HERE.discard(self.id)
        await self._release()

    async def held(self) -> uuid.UUID:
        """The lease's id for a run about to be created, renewed first if a renewal is overdue
        (after a database outage, before the next renewal: the run must not look abandoned)."""
        if time.monotonic() - self._renewed > 2 * self.interval:
            await self.renew()
        return self.id

    async def renew(self) -> None:
        async with self._uow() as tx:
            now = await database_now(tx.session)
            values = {"renewed_at": now, "expires_at": now + timedelta(seconds=self.seconds)}
            statement = update(ServiceProcess).where(ServiceProcess.id == self.id).values(values)
            renewed = (await tx.session.execute(statement)).rowcount  # type: ignore[attr-defined]
            if not renewed:
                if self._renewed > -float("inf"):
                    logger.warning("this process was presumed dead: its runs were taken over")
                row = ServiceProcess(
                    id=self.id, machine=self._machine, pid=os.getpid(), started_at=now, **values
                )
                tx.session.add(row)
        self._renewed = time.monotonic()

    async def dead_processes(self, session: AsyncSession) -> list[uuid.UUID]:
        """Processes whose lease ran out, or that are gone from this very machine."""
        now = await database_now(session)
        expired = ServiceProcess.expires_at < now
        rows = await session.execute(
            select(ServiceProcess.id, ServiceProcess.pid, expired)
            .where(ServiceProcess.id != self.id)
            .where(or_(expired, ServiceProcess.machine == self._machine))
        )
        return [id for id, pid, lapsed in rows if lapsed or self._gone(id, pid)]

    def _gone(self, id: uuid.UUID, pid: int) -> bool:
        """Whether the process of a row from this machine has ended."""
        if pid == os.getpid():
            return id not in _HELD_HERE  # an earlier life of this pid (a restarted container)
        return not pid_alive(pid)

    async def _release(self) -> None:
        """Give up the lease at once: what this process leaves unfinished is taken over by the
        next sweep of another process, not after the lease would have run out."""
        try:
            async with self._uow() as tx:
                await tx.session.execute(delete(ServiceProcess).where(ServiceProcess.id == self.id))
        except Exception as error:
            logger.warning("could not release this process's lease (%r); it runs out", error)


@dataclass(frozen=True)
class Abandoned:
    """Which runs nobody runs: no process, a dead one, or one that released its lease.

    `taker` is the process taking them over. Used as `Abandoned(...)(Execution.process_id)`.
    """

    taker: uuid.UUID
    dead: Sequence[uuid.UUID] = field(default=())

    def __call__(self, process_id: Any) -> ColumnElement[bool]:
        return or_(
            process_id.is_(None),
            process_id.in_(self.dead),
            process_id.not_in(select(ServiceProcess.id)),
        )


async def forget(session: AsyncSession, dead: Sequence[uuid.UUID]) -> None:
    if dead:
        await session.execute(delete(ServiceProcess).where(ServiceProcess.id.in_(dead)))
