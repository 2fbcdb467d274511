"""One run lifecycle for every kind of run (executions, program initializations, optimization
runs; DAG runs next): launch after commit, RUNNING behind, terminal state before its event,
cancel once, shutdown, takeover. A kind supplies only its work, its stored form and its event."""

from dspex_gql.runs.events import RunEvent
from dspex_gql.runs.kinds import RunKind
from dspex_gql.runs.lifecycle import Phase, RunFailed, RunJob, RunKey, StateChange
from dspex_gql.runs.runs import Runs

__all__ = [
    "Phase",
    "RunEvent",
    "RunFailed",
    "RunJob",
    "RunKey",
    "RunKind",
    "Runs",
    "StateChange",
]
