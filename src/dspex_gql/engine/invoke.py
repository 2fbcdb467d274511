"""Runs one request through a program's adapter, or its registered implementation if CUSTOM."""

from __future__ import annotations

from dspex_gql.engine.adapters.base import AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry


class ProgramInvoker:
    def __init__(self, adapters: AdapterRegistry, custom_programs: CustomProgramRegistry) -> None:
        self.adapters = adapters
        self.custom_programs = custom_programs

    async def __call__(
        self, adapter_name: str, implementation: str | None, request: AdapterRequest
    ) -> AdapterResult:
        adapter = self.adapters.get(adapter_name)
        if implementation is None:
            return await adapter.run(request)
        return await self.custom_programs.get(implementation)(request, adapter)
