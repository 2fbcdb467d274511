"""A run's job rebuilt from its stored row, by a process that was handed only the run's id (a
worker of the job queue) or found the run abandoned (recovery).

    run = await claim_run(tx.session, Execution, UNFINISHED, id, taker)   # now ours, or None
    job = await loader.load(tx, run)        # None: the run ended instead (recorded on tx)
"""

from __future__ import annotations

from typing import Any, Protocol

from dspex_gql.db.repository import claim_abandoned_runs
from dspex_gql.db.uow import UnitOfWork
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.runs.kinds import RunKind
from dspex_gql.runs.lifecycle import RunJob
from dspex_gql.runs.runs import Runs


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


async def resume_abandoned(
    tx: UnitOfWork, abandoned: Abandoned, loader: JobLoader, runs: Runs
) -> int:
    """Claim the runs of `loader`'s kind that nobody runs, and run each again once the claim is
    committed (a `Reclaimer` of the in-process mode); how many there were."""
    model = loader.kind.repository.model
    claimed = await claim_abandoned_runs(
        tx.session, model, loader.unfinished, abandoned, abandoned.taker
    )
    for run in claimed:
        job = await loader.load(tx, run)
        if job is not None:
            await runs.launch(tx, job)
    return len(claimed)
