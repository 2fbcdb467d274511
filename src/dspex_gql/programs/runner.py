"""Initializes a program: INITIALIZING → READY, or ERROR with the reasons.

Runs through the orchestrator like every other job, so a slow adapter (one that builds a module or
checks its endpoint) never blocks a request, and a crash mid-way is recovered at start-up.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry, configuration_problems
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.programs.models import ProgramStatus
from dspex_gql.programs.repository import ProgramRepository, fail_abandoned_initializations
from dspex_gql.signatures.models import SignatureStatus

INTERRUPTED = "Interrupted: the service stopped while this program was initializing"


@dataclass(frozen=True)
class InitializationPlan:
    program_id: UUID
    organization_id: UUID
    process_id: UUID
    type: ProgramType
    adapter: str
    implementation: str | None
    configuration: dict[str, Any]
    signature_status: SignatureStatus


@dataclass(frozen=True)
class InitializationJob:
    plan: InitializationPlan
    uow: UnitOfWorkFactory
    adapters: AdapterRegistry
    custom_programs: CustomProgramRegistry

    @property
    def key(self) -> Hashable:
        return ("initialize", self.plan.program_id)

    async def run(self) -> None:
        problems = self.problems()
        if problems:
            await self._record(ProgramStatus.ERROR, "; ".join(problems))
        else:
            await self._record(ProgramStatus.READY, None)

    async def abandon(self, reason: str) -> None:
        await self._record(ProgramStatus.ERROR, reason)

    def problems(self) -> list[str]:
        plan = self.plan
        found: list[str] = []
        if plan.signature_status == SignatureStatus.DEPRECATED:
            found.append("its signature is deprecated")
        found += self._implementation_problems()
        if plan.adapter not in self.adapters:
            return [*found, f"adapter '{plan.adapter}' is not installed"]
        adapter = self.adapters.get(plan.adapter)
        return found + [
            f"configuration: {p}" for p in adapter.check_configuration(plan.configuration)
        ]

    def _implementation_problems(self) -> list[str]:
        name = self.plan.implementation
        if self.plan.type != ProgramType.CUSTOM or name is None:
            return []
        if name not in self.custom_programs:
            return [f"program implementation '{name}' is not installed"]
        implementation = self.custom_programs.get(name)
        problems = configuration_problems(implementation, self.plan.configuration)
        return [f"configuration: {problem}" for problem in problems]

    async def _record(self, status: ProgramStatus, error: str | None) -> None:
        async with self.uow() as tx:
            repo = ProgramRepository(tx.session, self.plan.organization_id)
            await repo.finish_initialization(
                self.plan.program_id,
                self.plan.process_id,
                {"status": status, "error_message": error},
            )


class InterruptedInitializations:
    """Initializations nobody runs any more end in ERROR: initialize the program again."""

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        return await fail_abandoned_initializations(tx.session, abandoned, INTERRUPTED)
