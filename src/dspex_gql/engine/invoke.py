"""Runs one request through a program's adapter, or its registered implementation if CUSTOM.

An adapter that builds implementations of its own (the dspy adapter's `dspy.Module`s) runs a
CUSTOM program whose implementation it names itself, with `request.implementation` set.

What comes back is stored, so what no database can store (a NUL a language model answered, say)
is replaced first (`storable_input.made_storable`), in results and error messages; a result that
is not JSON at all fails the run with an AdapterError.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import orjson

from dspex_gql import json_codec
from dspex_gql.engine.adapters.base import Adapter, AdapterError, AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.storable_input import made_storable


@runtime_checkable
class RunsImplementations(Protocol):
    def implementation_names(self) -> list[str]: ...


def runs_itself(adapter: Adapter, implementation: str) -> bool:
    return (
        isinstance(adapter, RunsImplementations)
        and implementation in adapter.implementation_names()
    )


MAX_TOKENS = 2**31 - 1
"""The largest GraphQL `Int`, and the largest count an INTEGER column holds."""

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
        """The result as stored (and observed): `storable_result`, or a storable error."""
        try:
            result = await self._call(adapter_name, implementation, request)
        except AdapterError as error:
            message = str(error)
            if (storable := made_storable(message)) is message:
                raise
            raise AdapterError(storable) from error
        return storable_result(result)

    async def _call(
        self, adapter_name: str, implementation: str | None, request: AdapterRequest
    ) -> AdapterResult:
        adapter = self.adapters.get(adapter_name)
        if implementation is None:
            return await adapter.run(request)
        if runs_itself(adapter, implementation):
            return await adapter.run(dataclasses.replace(request, implementation=implementation))
        return await self.custom_programs.get(implementation)(request, adapter)


def storable_result(result: AdapterResult) -> AdapterResult:
    """`result`, or a copy with U+FFFD for what cannot be stored; an AdapterError when it is not
    JSON at all (a CUSTOM implementation's `object()`, say: its run could never be written) or
    its usage is no count or price (`usage_problem`)."""
    if (problem := usage_problem(result)) is not None:
        raise AdapterError(f"the program's result is not storable: {problem}")
    parts: list[Any] = [result.outputs, result.trace, result.metadata]
    try:
        if b"\\u0000" not in orjson.dumps(parts):  # orjson writes NUL as that escape
            return result
    except TypeError:
        pass  # a lone surrogate, an integer past 64 bits, or something JSON has no form for
    outputs, trace, metadata = storable = made_storable(parts)
    if (problem := json_problem(storable)) is not None:
        raise AdapterError(f"the program's result is not JSON: {problem}")
    if storable is parts:
        return result
    return dataclasses.replace(result, outputs=outputs, trace=trace, metadata=metadata)


def json_problem(value: Any) -> str | None:
    """Why the store cannot write `value` as JSON (`json_codec.dumps`), or None."""
    try:
        json_codec.dumps(value)
    except (TypeError, ValueError) as error:
        return str(error)
    return None


def usage_problem(result: AdapterResult) -> str | None:
    """Token counts are whole numbers a GraphQL `Int` holds (0 to 2**31 - 1), the cost a finite
    number of 0 or more."""
    for name in ("prompt_tokens", "completion_tokens"):
        count = getattr(result, name)
        if type(count) is not int or not 0 <= count <= MAX_TOKENS:
            return f"{name} must be a whole number from 0 to {MAX_TOKENS}, not {count!r}"
    cost = result.cost
    if type(cost) not in (int, float) or not 0 <= cost < math.inf:
        return f"cost must be a finite number of 0 or more, not {cost!r}"
    return None
