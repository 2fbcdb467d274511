"""CUSTOM programs: implementations registered in Python, never code sent over the API.

Packages add implementations through the `dspex_gql.programs` entry point group, e.g.
`majority_vote = "dspex_gql.engine.custom:MajorityVote"`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Protocol, cast, runtime_checkable

from dspex_gql.engine.adapters.base import (
    Adapter,
    AdapterError,
    AdapterRequest,
    AdapterResult,
    ProgramType,
    canonical_json,
)
from dspex_gql.engine.adapters.registry import NotRegistered

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dspex_gql.programs"


class ProgramImplementation(Protocol):
    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult: ...


@runtime_checkable
class ChecksConfiguration(Protocol):
    """Optional for an implementation: problems with a configuration, checked at initialization."""

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]: ...


def configuration_problems(
    implementation: ProgramImplementation, configuration: Mapping[str, Any]
) -> list[str]:
    if isinstance(implementation, ChecksConfiguration):
        return implementation.check_configuration(configuration)
    return []


class CustomProgramRegistry:
    def __init__(self) -> None:
        self._implementations: dict[str, ProgramImplementation] = {}

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> CustomProgramRegistry:
        """Every loadable entry point of `group`; a broken one is logged and skipped."""
        registry = cls()
        for entry_point in entry_points(group=group):
            try:
                registry.register(entry_point.name, _instantiate(entry_point.load()))
            except Exception as error:
                logger.warning("Skipping program implementation %r: %s", entry_point.name, error)
        return registry

    def register(self, name: str, implementation: ProgramImplementation) -> None:
        if name in self._implementations:
            raise ValueError(f"a program implementation named '{name}' is already registered")
        self._implementations[name] = implementation

    def get(self, name: str) -> ProgramImplementation:
        try:
            return self._implementations[name]
        except KeyError:
            available = ", ".join(self.names()) or "none"
            message = f"unknown program implementation '{name}'; available: {available}"
            raise NotRegistered(message) from None

    def names(self) -> list[str]:
        return sorted(self._implementations)

    def __contains__(self, name: object) -> bool:
        return name in self._implementations


def _instantiate(loaded: Any) -> ProgramImplementation:
    implementation = loaded() if isinstance(loaded, type) else loaded
    if not callable(implementation):
        raise TypeError(f"{implementation!r} is not callable")
    return cast(ProgramImplementation, implementation)


# -- built-in -----------------------------------------------------------------------------------


class MajorityVote:
    """Ask `samples` times (configuration `samples`, 1..15, default 3) and keep, per output
    field, the most common answer; ties go to the answer seen first."""

    max_samples = 15

    async def __call__(self, request: AdapterRequest, adapter: Adapter) -> AdapterResult:
        samples = self._sample_count(request)
        runs = await asyncio.gather(
            *(adapter.run(self._sample_request(request, index)) for index in range(samples)),
            return_exceptions=True,
        )
        results = _raise_first_failure(runs)
        outputs = [result.outputs for result in results]
        return AdapterResult(
            outputs=majority_outputs(request.signature.output_names, outputs),
            prompt_tokens=sum(result.prompt_tokens for result in results),
            completion_tokens=sum(result.completion_tokens for result in results),
            cost=sum(result.cost for result in results),
            trace={"implementation": "majority_vote", "samples": outputs},
            metadata={**results[0].metadata, "samples": samples},
        )

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        samples = configuration.get("samples", 3)
        valid = isinstance(samples, int) and not isinstance(samples, bool)
        if not valid or not 1 <= samples <= self.max_samples:
            return [f"samples must be an integer between 1 and {self.max_samples}"]
        return []

    def _sample_count(self, request: AdapterRequest) -> int:
        problems = self.check_configuration(request.configuration)
        if problems:
            raise AdapterError(problems[0])
        return int(request.configuration.get("samples", 3))

    def _sample_request(self, request: AdapterRequest, index: int) -> AdapterRequest:
        configuration = {**request.configuration, "sample": index}
        return dataclasses.replace(
            request, program_type=ProgramType.PREDICT, configuration=configuration
        )


def _raise_first_failure(runs: Sequence[AdapterResult | BaseException]) -> list[AdapterResult]:
    for index, run in enumerate(runs):
        if isinstance(run, AdapterError):
            message = f"Majority vote sample {index + 1} of {len(runs)} failed: {run}"
            raise AdapterError(message) from run
        if isinstance(run, BaseException):
            raise run
    return [run for run in runs if isinstance(run, AdapterResult)]


def majority_outputs(names: Iterable[str], samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per field, the most common value: `a` from `[{"x": "a"}, {"x": "b"}, {"x": "a"}]`."""
    return {
        name: most_common([sample[name] for sample in samples if name in sample])
        for name in names
        if any(name in sample for sample in samples)
    }


def most_common(values: Sequence[Any]) -> Any:
    """The most frequent value, compared as JSON; ties go to the first seen: `[1, 2] → 1`."""
    first_seen: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for value in values:
        key = canonical_json(value)
        first_seen.setdefault(key, value)
        counts[key] = counts.get(key, 0) + 1
    return first_seen[max(counts, key=counts.__getitem__)]
