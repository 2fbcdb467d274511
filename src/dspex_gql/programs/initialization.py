"""Initializes a program: INITIALIZING → READY, or ERROR with the reasons.

A run like every other (`runs/lifecycle.py`), so a slow adapter (one that builds a module or
checks its endpoint) never blocks a request, and an initialization its process never finished is
taken over (`InterruptedInitializations`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from dspex_gql.db.uow import UnitOfWork
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.adapters.dspy import module_problems
from dspex_gql.engine.adapters.dspy.loader import DspyUnavailable, load_dspy
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry, configuration_problems
from dspex_gql.engine.invoke import runs_itself
from dspex_gql.engine.language_models import LM_ADAPTER
from dspex_gql.engine.signatures import ParsedSignature
from dspex_gql.orchestrator.lease import Abandoned
from dspex_gql.programs.models import ProgramStatus
from dspex_gql.programs.repository import ProgramRepository, fail_abandoned_initializations
from dspex_gql.runs import Phase, RunFailed, RunJob, Runs, StateChange
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
    signature: ParsedSignature | None = None
    instructions: str | None = None
    state: dict[str, Any] | None = None
    missing_models: tuple[str, ...] = ()
    """Language models the configuration names that the initializing user cannot use."""


class InitializationJob(RunJob):
    """Checks what the program needs (its signature, implementation, adapter, configuration);
    READY when nothing is missing, else ERROR with every problem found."""

    kind = "initialization"
    reports_running = False

    def __init__(
        self,
        runs: Runs,
        plan: InitializationPlan,
        adapters: AdapterRegistry,
        custom_programs: CustomProgramRegistry,
    ) -> None:
        super().__init__(runs, plan.program_id)
        self.plan = plan
        self.adapters = adapters
        self.custom_programs = custom_programs

    async def perform(self) -> dict[str, Any]:
        problems = self.problems()
        if not problems:
            problems = await self._module_problems()
        if problems:
            raise RunFailed("; ".join(problems))
        return {}

    async def store(self, session: AsyncSession, change: StateChange) -> Any | None:
        """READY, or ERROR with the reason; the program's only state written (at the end)."""
        status = ProgramStatus.READY if change.phase is Phase.COMPLETED else ProgramStatus.ERROR
        repo = ProgramRepository(session, self.plan.organization_id)
        values = {"status": status, "error_message": change.values.get("error")}
        written = await repo.finish_initialization(self.id, self.plan.process_id, values)
        return change if written else None

    def problems(self) -> list[str]:
        plan = self.plan
        found: list[str] = []
        if plan.signature_status == SignatureStatus.DEPRECATED:
            found.append("its signature is deprecated")
        found += [
            f"no language model named '{name}' that you can use in this organization"
            for name in plan.missing_models
        ]
        found += self._implementation_problems()
        if plan.adapter not in self.adapters:
            return [*found, f"adapter '{plan.adapter}' is not installed"]
        adapter = self.adapters.get(plan.adapter)
        return found + [
            f"configuration: {p}" for p in adapter.check_configuration(plan.configuration)
        ]

    async def _module_problems(self) -> list[str]:
        """A `dspy` program's module must build from its signature and state (no LM call)."""
        plan = self.plan
        if plan.adapter != LM_ADAPTER or plan.signature is None:
            return []
        try:
            await load_dspy()
        except DspyUnavailable as missing:
            return [str(missing)]
        return await asyncio.to_thread(
            module_problems,
            plan.type,
            plan.signature,
            plan.instructions,
            plan.configuration,
            plan.state,
            plan.implementation,
        )

    def _implementation_problems(self) -> list[str]:
        name = self.plan.implementation
        if self.plan.type != ProgramType.CUSTOM or name is None:
            return []
        if self.plan.adapter in self.adapters and runs_itself(
            self.adapters.get(self.plan.adapter), name
        ):
            return []  # the adapter builds it: its module checks say what is wrong
        if name not in self.custom_programs:
            return [f"program implementation '{name}' is not installed"]
        implementation = self.custom_programs.get(name)
        problems = configuration_problems(implementation, self.plan.configuration)
        return [f"configuration: {problem}" for problem in problems]


class InterruptedInitializations:
    """Initializations nobody runs any more end in ERROR: initialize the program again."""

    async def reclaim(self, tx: UnitOfWork, abandoned: Abandoned) -> int:
        return await fail_abandoned_initializations(tx.session, abandoned, INTERRUPTED)
