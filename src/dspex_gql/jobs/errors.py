"""What enqueueing a run can refuse."""

from __future__ import annotations

from uuid import UUID

from dspex_gql.errors import Conflict


class AlreadyQueued(Conflict):
    """The run already has a job waiting (`todo`): one is enough, e.g. "The execution
    8a0c…e1 is already queued"."""

    def __init__(self, kind: str, run_id: UUID) -> None:
        super().__init__(f"The {kind} {run_id} is already queued")
        self.kind = kind
        self.run_id = run_id
