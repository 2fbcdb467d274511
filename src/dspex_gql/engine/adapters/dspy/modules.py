"""DSPy modules for our programs: built from our signature, with the compiled state loaded.

PREDICT → `dspy.Predict`, CHAIN_OF_THOUGHT → `dspy.ChainOfThought`, REACT → `dspy.ReAct` with
the configuration's `tools`, CUSTOM → the registered module its `implementation` names. Modules
are cached (LRU) by everything that shapes them, and shared by concurrent runs, which only read
them.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from dspex_gql.engine.adapters.base import AdapterError, AdapterRequest, ProgramType
from dspex_gql.engine.adapters.dspy.configuration import CONTROLS, DEFAULT_MAX_ITERS
from dspex_gql.engine.adapters.dspy.custom_modules import CustomModuleError, custom_module_class
from dspex_gql.engine.adapters.dspy.loader import (
    DspyUnavailable,
    load_dspy,
    load_dspy_sync,
    require_dspy,
)
from dspex_gql.engine.adapters.dspy.signatures import SignatureNotSupported, dspy_signature
from dspex_gql.engine.adapters.dspy.state import load_state, state_key, state_problems_for
from dspex_gql.engine.adapters.dspy.tools import ToolError, load_tools
from dspex_gql.engine.signatures import ParsedSignature

MAX_CACHED_MODULES = 128
RESERVED_NAMES = {
    ProgramType.CHAIN_OF_THOUGHT: frozenset({"reasoning"}),
    ProgramType.REACT: frozenset({"trajectory", "next_thought", "next_tool_name", "next_tool_args"})
    | {"reasoning"},
}
"""Field names the DSPy module adds to the signature itself."""


class ModuleProblem(ValueError):
    pass


@dataclass(frozen=True)
class ModuleSpec:
    """Everything a built module depends on, the key of the module cache."""

    program_type: ProgramType
    signature: ParsedSignature
    instructions: str | None = None
    implementation: str | None = None
    tools: tuple[str, ...] = ()
    max_iters: int = DEFAULT_MAX_ITERS
    state_key: str | None = None

    @classmethod
    def of(
        cls,
        program_type: ProgramType,
        signature: ParsedSignature,
        instructions: str | None = None,
        configuration: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
        implementation: str | None = None,
    ) -> ModuleSpec:
        custom = implementation if program_type == ProgramType.CUSTOM else None
        spec = cls(
            program_type, signature, instructions or None, custom, state_key=state_key(state)
        )
        if program_type != ProgramType.REACT:
            return spec
        return replace(spec, **_react_settings(configuration or {}))


def _react_settings(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """`tools` and `max_iters` when valid (`check_configuration` reports them otherwise)."""
    settings: dict[str, Any] = {}
    for key, convert in (("tools", tuple), ("max_iters", int)):
        if key in configuration and CONTROLS[key][0](configuration[key]):
            settings[key] = convert(configuration[key])
    return settings


# -- building -----------------------------------------------------------------------------------


def construct(spec: ModuleSpec) -> Any:
    """A new module for `spec`, without a state; `ModuleProblem` saying why it cannot be built."""
    dspy = require_dspy()
    names = set(spec.signature.input_names + spec.signature.output_names)
    if clash := sorted(names & RESERVED_NAMES.get(spec.program_type, frozenset())):
        kind = spec.program_type.value
        raise ModuleProblem(f"{kind} programs use the field names {', '.join(clash)} themselves")
    try:
        signature = dspy_signature(spec.signature, spec.instructions)
        if spec.program_type == ProgramType.PREDICT:
            return dspy.Predict(signature)
        if spec.program_type == ProgramType.CHAIN_OF_THOUGHT:
            return dspy.ChainOfThought(signature)
        if spec.program_type == ProgramType.REACT:
            return dspy.ReAct(signature, tools=load_tools(spec.tools), max_iters=spec.max_iters)
        return _custom(spec.implementation, signature)
    except (SignatureNotSupported, ToolError, CustomModuleError) as error:
        raise ModuleProblem(str(error)) from error


def _custom(implementation: str | None, signature: Any) -> Any:
    module_class = custom_module_class(implementation)
    try:
        return module_class(signature)
    except Exception as error:
        message = f"dspy module '{implementation}' could not be built: {error}"
        raise ModuleProblem(message) from error


def construct_with_state(spec: ModuleSpec, state: Mapping[str, Any] | None) -> Any:
    module = construct(spec)
    if state is not None:
        if problems := state_problems_for(module, state):
            raise ModuleProblem(f"the compiled state does not fit: {'; '.join(problems)}")
        load_state(module, state)
    return module


class ModuleCache:
    """A bounded LRU of built modules; building happens outside the lock."""

    def __init__(self, capacity: int = MAX_CACHED_MODULES) -> None:
        self.capacity = capacity
        self._modules: OrderedDict[ModuleSpec, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ModuleSpec) -> Any | None:
        with self._lock:
            module = self._modules.get(spec)
            if module is not None:
                self._modules.move_to_end(spec)
            return module

    def build(self, spec: ModuleSpec, state: Mapping[str, Any] | None) -> Any:
        if (module := self.get(spec)) is not None:
            return module
        module = construct_with_state(spec, state)
        with self._lock:
            module = self._modules.setdefault(spec, module)
            self._modules.move_to_end(spec)
            while len(self._modules) > self.capacity:
                self._modules.popitem(last=False)
        return module

    def clear(self) -> None:
        with self._lock:
            self._modules.clear()


module_cache = ModuleCache()


def request_spec(request: AdapterRequest) -> ModuleSpec:
    return ModuleSpec.of(
        request.program_type,
        request.signature,
        request.instructions,
        request.configuration,
        request.state,
        request.implementation,
    )


async def dspy_for_runs() -> Any:
    """The loaded `dspy` module; `AdapterError` when DSPy is not installed."""
    try:
        return await load_dspy()
    except DspyUnavailable as error:
        raise AdapterError(str(error)) from error


async def build_module(request: AdapterRequest) -> Any:
    """The module a request runs (cached); `AdapterError` when it cannot be built."""
    await dspy_for_runs()
    spec = request_spec(request)
    if (module := module_cache.get(spec)) is not None:
        return module
    try:
        return await asyncio.to_thread(module_cache.build, spec, request.state)
    except ModuleProblem as error:
        raise AdapterError(f"The dspy program cannot be built: {error}") from error


# -- checks at initialization -------------------------------------------------------------------


def module_problems(
    program_type: ProgramType,
    signature: ParsedSignature,
    instructions: str | None,
    configuration: Mapping[str, Any],
    state: Mapping[str, Any] | None,
    implementation: str | None,
) -> list[str]:
    """Why the module would not build (no LM call); blocks while dspy is first imported."""
    spec = ModuleSpec.of(program_type, signature, instructions, configuration, None, implementation)
    try:
        load_dspy_sync()
        module = construct(spec)
    except (DspyUnavailable, ModuleProblem) as error:
        return [str(error)]
    return [] if state is None else state_problems_for(module, state)


def state_problems(
    state: Any,
    program_type: ProgramType,
    signature: ParsedSignature,
    *,
    implementation: str | None = None,
) -> list[str]:
    """Why an imported state does not load into the module built from `signature`."""
    try:
        load_dspy_sync()
        module = construct(ModuleSpec.of(program_type, signature, implementation=implementation))
    except (DspyUnavailable, ModuleProblem) as error:
        return [str(error)]
    return state_problems_for(module, state)


def export_state(
    program_type: ProgramType,
    signature: ParsedSignature,
    instructions: str | None = None,
    *,
    configuration: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    implementation: str | None = None,
    for_file: bool = False,
) -> dict[str, Any]:
    """The module's `dump_state()`; `for_file=True` adds the `metadata` that
    `module.save("x.json")` writes and `module.load("x.json")` requires."""
    load_dspy_sync()
    spec = ModuleSpec.of(
        program_type, signature, instructions, configuration, state, implementation
    )
    exported: dict[str, Any] = construct_with_state(spec, state).dump_state()
    if for_file:
        saving = importlib.import_module("dspy.utils.saving")
        versions = saving.get_dependency_versions()
        exported["metadata"] = {"dependency_versions": versions}
    return exported
