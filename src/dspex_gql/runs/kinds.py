"""What the generic parts need to know of a kind of run stored as a row with a status and a
sequence (executions, optimization runs): its repository, its statuses, its event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.repository import Recorded, RunRepository
from dspex_gql.runs.events import RunEvent
from dspex_gql.runs.lifecycle import Phase, RunKey


async def _nothing_else(_session: AsyncSession, _run: Any) -> None:
    return None


@dataclass(frozen=True)
class RunKind:
    name: str
    """In job keys (`execution:<id>`) and messages ("The execution already finished")."""
    repository: type[RunRepository[Any]]
    statuses: Mapping[Phase, Enum]
    """The stored status of each phase."""
    event: type[RunEvent]
    ended: Callable[[AsyncSession, Any], Awaitable[None]] = _nothing_else
    """What else changes when a run of this kind ends (its program's status)."""

    def key(self, id: UUID) -> RunKey:
        return RunKey(self.name, id)

    async def record(
        self,
        session: AsyncSession,
        run: Any,
        sequence: int,
        phase: Phase,
        values: Mapping[str, Any],
        process_id: UUID | None = None,
    ) -> Recorded | None:
        """Store `phase` with `values` on the run's row (see `RunRepository.record`)."""
        repository = self.repository(session, run.organization_id)
        return await repository.record(
            run.id,
            sequence,
            {"status": self.statuses[phase], **values},
            process_id,
            returning=self.event.columns(),
        )
