"""What every adapter receives, returns and raises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.engine.signatures import ParsedSignature


class ProgramType(StrEnum):
    PREDICT = "PREDICT"
    CHAIN_OF_THOUGHT = "CHAIN_OF_THOUGHT"
    REACT = "REACT"
    CUSTOM = "CUSTOM"


@dataclass(frozen=True)
class AdapterRequest:
    program_type: ProgramType
    signature: ParsedSignature
    instructions: str | None
    inputs: Mapping[str, Any]
    configuration: Mapping[str, Any]
    """The program's configuration merged with the execution's variable configuration."""
    options: Mapping[str, Any] = field(default_factory=dict)
    language_models: Mapping[str, LanguageModelSpec] = field(default_factory=dict)
    """The language models the configuration may name (`lm`), by name, resolved at start."""
    state: Mapping[str, Any] | None = None
    """A compiled program state (DSPy's JSON: demos, instructions), when the program has one."""
    implementation: str | None = None
    """The registered implementation a CUSTOM program names, for an adapter that runs its own
    (the dspy adapter builds the `dspy.Module` registered under that name)."""

    def for_call(self, inputs: Mapping[str, Any], options: Mapping[str, Any]) -> AdapterRequest:
        """This request with a call's inputs and options: `dataclasses.replace` without its
        per-field work, ~5x faster (a DAG run makes one per node)."""
        request = object.__new__(AdapterRequest)
        request.__dict__.update(self.__dict__, inputs=inputs, options=options)
        return request


@dataclass(frozen=True)
class AdapterResult:
    outputs: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    trace: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class AdapterError(Exception):
    """A failure of one run, recorded on the execution; its message is shown to the user."""


class Adapter(Protocol):
    name: str

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        """Human-readable problems with a configuration, [] when fine; used at initialization."""
        ...

    async def run(self, request: AdapterRequest) -> AdapterResult: ...


def canonical_json(value: Any) -> str:
    """Stable JSON for hashing and comparing: `{"b": 1, "a": [2]}` → `{"a":[2],"b":1}`."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
