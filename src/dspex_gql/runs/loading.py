"""A run's job rebuilt from its stored row, by a process that was handed only the run's id (a
worker of the job queue) or found the run abandoned (recovery).

    run = await claim_run(tx.session, Execution, UNFINISHED, id, taker)   # now ours, or None
    job = await loader.load(tx, run)        # None: the run ended instead (recorded on tx)
"""

from __future__ import annotations

from typing import Any, Protocol

from dspex_gql.db.uow import UnitOfWork
from dspex_gql.runs.kinds import RunKind
from dspex_gql.runs.lifecycle import RunJob


class JobLoader(Protocol):
    @property
    def kind(self) -> RunKind: ...

    @property
    def unfinished(self) -> tuple[Any, ...]:
        """The statuses of a run that is still to run (or to resume)."""
        ...

    async def load(self, tx: UnitOfWork, run: Any) -> RunJob | None:
        """The job that runs (or resumes) `run`, claimed by this process; or None when the run
        ended instead — it could not be rebuilt, or may not be resumed — its end recorded on `tx`
        and announced once `tx` commits."""
        ...
