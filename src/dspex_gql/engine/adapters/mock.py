"""The always-available offline adapter: deterministic typed outputs, latency, cost, failures.

Each output field draws from its own `random.Random`, seeded with a SHA-256 of the inputs, the
configuration (without the mock's own control keys below) and the field name: the same inputs and
configuration always give the same outputs, and changing e.g. `temperature` changes them.

With a `landscape` in the configuration (see `dspex_gql.engine.landscapes`) and the example's
expected outputs in `options["expected"]`, as an evaluation passes them, the mock answers right
(returns the expected values) with probability `p(configuration)`. Each example's draw depends
only on its inputs and `landscape.seed`, so a run's score is monotone in `p`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from dspex_gql.engine.adapters.base import (
    AdapterError,
    AdapterRequest,
    AdapterResult,
    ProgramType,
    canonical_json,
)
from dspex_gql.engine.landscapes import Landscape, is_number, parse_landscape
from dspex_gql.engine.types import FieldType, ListType, LiteralType

DEFAULT_MODEL = "mock-1"
MOCK_CONTROL_KEYS = frozenset(
    {"latency_ms", "fail_rate", "fail_seed", "fail_on", "fail_attempts", "landscape"}
    | {"prompt_price_per_1k", "completion_price_per_1k"}
)
_WORDS = (
    "amber", "brisk", "calm", "clear", "distant", "early", "gentle", "golden", "hidden", "lucky",
    "quiet", "rapid", "silver", "steady", "vivid", "river", "signal", "garden", "harbor",
    "lantern", "meadow", "orbit", "pattern", "summit", "thread", "window", "answer", "detail",
)  # fmt: skip


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_non_negative(value: Any) -> bool:
    return is_number(value) and value >= 0


_RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("model", lambda v: isinstance(v, str) and bool(v), "model must be a non-empty string"),
    ("latency_ms", _is_non_negative, "latency_ms must be a number >= 0"),
    ("fail_rate", lambda v: _is_non_negative(v) and v <= 1, "fail_rate must be between 0 and 1"),
    ("fail_seed", _is_integer, "fail_seed must be an integer"),
    ("fail_on", lambda v: isinstance(v, dict), "fail_on must be an object"),
    ("fail_attempts", lambda v: _is_integer(v) and v >= 0, "fail_attempts must be an integer >= 0"),
    ("prompt_price_per_1k", _is_non_negative, "prompt_price_per_1k must be a number >= 0"),
    ("completion_price_per_1k", _is_non_negative, "completion_price_per_1k must be a number >= 0"),
)


def check_mock_configuration(configuration: Mapping[str, Any]) -> list[str]:
    problems = [
        message
        for key, is_valid, message in _RULES
        if key in configuration and not is_valid(configuration[key])
    ]
    if "landscape" in configuration:
        try:
            parse_landscape(configuration["landscape"])
        except ValueError as error:
            problems.append(str(error))
    return problems


@dataclass(frozen=True)
class MockSettings:
    model: str = DEFAULT_MODEL
    latency_ms: float = 0
    fail_rate: float = 0
    fail_seed: int = 0
    fail_on: Mapping[str, Any] = field(default_factory=dict)
    fail_attempts: int = 0
    """Calls whose `options.attempt` (a DAG node's retries) is at most this fail."""
    prompt_price_per_1k: float = 0
    completion_price_per_1k: float = 0
    landscape: Landscape | None = None

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> MockSettings:
        if problems := check_mock_configuration(configuration):
            raise AdapterError(f"Invalid mock configuration: {'; '.join(problems)}")
        known = {setting.name for setting in fields(cls)} - {"landscape"}
        settings = {key: value for key, value in configuration.items() if key in known}
        if "landscape" in configuration:
            settings["landscape"] = parse_landscape(configuration["landscape"])
        return cls(**settings)


class MockAdapter:
    name = "mock"

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        return check_mock_configuration(configuration)

    async def run(self, request: AdapterRequest) -> AdapterResult:
        settings = MockSettings.from_configuration(request.configuration)
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)
        basis = hash_basis(request, settings)
        _raise_injected_failure(request, settings, basis)
        outputs = generate_outputs(request, basis)
        landscape_p = _landscape_probability(request, settings.landscape)
        if expected := _answered_right(request, settings.landscape, landscape_p):
            outputs |= {key: value for key, value in expected.items() if key in outputs}
        result = _result(request, settings, outputs)
        if landscape_p is not None:
            result.metadata["landscape_p"] = landscape_p
        return result


def hash_basis(request: AdapterRequest, settings: MockSettings) -> dict[str, Any]:
    """What outputs depend on: the inputs and the configuration minus the mock's control keys."""
    configuration = {
        key: value for key, value in request.configuration.items() if key not in MOCK_CONTROL_KEYS
    }
    return {"inputs": request.inputs, "configuration": {**configuration, "model": settings.model}}


def _digest(value: Any) -> int:
    return int.from_bytes(hashlib.sha256(canonical_json(value).encode()).digest(), "big")


def seeded_random(basis: Mapping[str, Any], field_name: str) -> random.Random:
    return random.Random(_digest({**basis, "field": field_name}))


# -- failures -----------------------------------------------------------------------------------


def _raise_injected_failure(
    request: AdapterRequest, settings: MockSettings, basis: Mapping[str, Any]
) -> None:
    if _matches(request.inputs, settings.fail_on):
        raise AdapterError("Mock failure injected: inputs match fail_on")
    attempt = request.options.get("attempt", 1)
    attempt = attempt if _is_integer(attempt) else 1
    if attempt <= settings.fail_attempts:
        raise AdapterError(f"Mock failure injected: attempt {attempt} of fail_attempts")
    if _fails_by_rate({**basis, "attempt": attempt} if attempt != 1 else basis, settings):
        raise AdapterError(f"Mock failure injected (fail_rate={settings.fail_rate})")


def _matches(inputs: Mapping[str, Any], fail_on: Mapping[str, Any]) -> bool:
    """An empty `fail_on` matches nothing."""
    return bool(fail_on) and all(
        key in inputs and inputs[key] == value for key, value in fail_on.items()
    )


def _fails_by_rate(basis: Mapping[str, Any], settings: MockSettings) -> bool:
    """Raising `fail_rate` only adds failing inputs: each input's draw is fixed by the seed."""
    draw = _digest({**basis, "fail_seed": settings.fail_seed}) / 2**256
    return draw < settings.fail_rate


# -- landscape ----------------------------------------------------------------------------------


def _expected(request: AdapterRequest) -> Mapping[str, Any] | None:
    expected = request.options.get("expected")
    return expected if isinstance(expected, Mapping) else None


def _landscape_probability(request: AdapterRequest, landscape: Landscape | None) -> float | None:
    """`p(configuration)`, None without a landscape; a landscape variable missing from the
    configuration fails the run only when an example is being answered."""
    if landscape is None:
        return None
    try:
        return landscape.probability(request.configuration)
    except ValueError as error:
        if _expected(request) is None:
            return None
        raise AdapterError(str(error)) from error


def _answered_right(
    request: AdapterRequest, landscape: Landscape | None, p: float | None
) -> Mapping[str, Any] | None:
    """The expected outputs when this example is answered right, else None. Common random
    numbers: the draw depends on the inputs and `landscape.seed`, not on the configuration."""
    expected = _expected(request)
    if expected is None or landscape is None or p is None:
        return None
    draw = _digest({"inputs": request.inputs, "landscape_seed": landscape.seed}) / 2**256
    return expected if draw < p else None


# -- outputs ------------------------------------------------------------------------------------


def generate_outputs(request: AdapterRequest, basis: Mapping[str, Any]) -> dict[str, Any]:
    outputs = {
        output.name: random_value(output.field_type, seeded_random(basis, output.name), output.name)
        for output in request.signature.outputs
    }
    extras = {
        name: generate(seeded_random(basis, name))
        for name, generate in _EXTRA_OUTPUTS.get(request.program_type, {}).items()
        if name not in outputs
    }
    return {**extras, **outputs}


def random_value(field_type: FieldType, rng: random.Random, hint: str) -> Any:
    """A random value of a type; `hint` (the field name) colours strings: "answer: calm river"."""
    if isinstance(field_type, ListType):
        return [random_value(field_type.item, rng, hint) for _ in range(rng.randint(1, 3))]
    if isinstance(field_type, LiteralType):
        return rng.choice(field_type.values)
    return _SCALAR_GENERATORS[field_type.name](rng, hint)


def _words(rng: random.Random) -> str:
    return " ".join(rng.sample(_WORDS, rng.randint(2, 4)))


def _unit_float(rng: random.Random) -> float:
    """In [0, 1) with 4 decimals (plain rounding could give 1.0)."""
    return math.floor(rng.random() * 10_000) / 10_000


_SCALAR_GENERATORS: dict[str, Callable[[random.Random, str], Any]] = {
    "str": lambda rng, hint: f"{hint.replace('_', ' ')}: {_words(rng)}",
    "int": lambda rng, _: rng.randint(0, 999),
    "float": lambda rng, _: _unit_float(rng),
    "bool": lambda rng, _: rng.random() < 0.5,
    "dict": lambda rng, _: {"label": rng.choice(_WORDS), "score": _unit_float(rng)},
}


def _reasoning(rng: random.Random) -> str:
    return f"Let's think step by step: {_words(rng)}, then {_words(rng)}."


def _trajectory(rng: random.Random) -> list[dict[str, str]]:
    steps = rng.randint(1, 3)
    return [
        {
            "thought": _words(rng),
            "action": "finish" if step == steps - 1 else f"search[{rng.choice(_WORDS)}]",
            "observation": _words(rng),
        }
        for step in range(steps)
    ]


_EXTRA_OUTPUTS: dict[ProgramType, dict[str, Callable[[random.Random], Any]]] = {
    ProgramType.CHAIN_OF_THOUGHT: {"reasoning": _reasoning},
    ProgramType.REACT: {"trajectory": _trajectory},
}


# -- accounting ---------------------------------------------------------------------------------


def _result(
    request: AdapterRequest, settings: MockSettings, outputs: dict[str, Any]
) -> AdapterResult:
    prompt_tokens = estimate_tokens(_prompt_text(request))
    completion_tokens = estimate_tokens(canonical_json(outputs))
    cost = (
        prompt_tokens / 1000 * settings.prompt_price_per_1k
        + completion_tokens / 1000 * settings.completion_price_per_1k
    )
    return AdapterResult(
        outputs=outputs,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost,
        trace=_trace(request, settings),
        metadata={"adapter": "mock", "model": settings.model},
    )


def estimate_tokens(text: str) -> int:
    """About four characters a token, at least one: `estimate_tokens("abcde") == 2`."""
    return max(1, math.ceil(len(text) / 4))


def _prompt_text(request: AdapterRequest) -> str:
    names = request.signature.input_names + request.signature.output_names
    return canonical_json(request.inputs) + (request.instructions or "") + "".join(names)


def _trace(request: AdapterRequest, settings: MockSettings) -> dict[str, Any]:
    signature = request.signature
    prompt = (
        f"{request.instructions or 'Complete the task.'} "
        f"[{', '.join(signature.input_names)} -> {', '.join(signature.output_names)}]"
    )
    return {
        "adapter": "mock",
        "model": settings.model,
        "program_type": request.program_type.value,
        "prompt": prompt[:500],
    }
