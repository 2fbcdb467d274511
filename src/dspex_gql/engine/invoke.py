"""Runs one request through a program's adapter, or its registered implementation if CUSTOM.

An adapter that builds implementations of its own (the dspy adapter's `dspy.Module`s) runs a
CUSTOM program whose implementation it names itself, with `request.implementation` set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from dspex_gql.engine.adapters.base import Adapter, AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry


@runtime_checkable
class RunsImplementations(Protocol):
    def implementation_names(self) -> list[str]: ...


def runs_itself(adapter: Adapter, implementation: str) -> bool:
    return (
        isinstance(adapter, RunsImplementations)
        and implementation in adapter.implementation_names()
    )


Observe = Callable[[Awaitable[AdapterResult]], Awaitable[AdapterResult]]
"""Awaits one run and returns its result, noting what it likes on the way (metrics, a span)."""


class ProgramInvoker:
    def __init__(
        self,
        adapters: AdapterRegistry,
        custom_programs: CustomProgramRegistry,
        observe: Observe | None = None,
    ) -> None:
        self.adapters = adapters
        self.custom_programs = custom_programs
        self.observe = observe

    async def __call__(
        self, adapter_name: str, implementation: str | None, request: AdapterRequest
    ) -> AdapterResult:
        run = self._run(adapter_name, implementation, request)
        return await (run if self.observe is None else self.observe(run))

    async def _run(
        self, adapter_name: str, implementation: str | None, request: AdapterRequest
    ) -> AdapterResult:
        adapter = self.adapters.get(adapter_name)
        if implementation is None:
            return await adapter.run(request)
        if runs_itself(adapter, implementation):
            return await adapter.run(dataclasses.replace(request, implementation=implementation))
        return await self.custom_programs.get(implementation)(request, adapter)
