"""The dspy adapter's configuration: which model, its request parameters, and run controls.

`{"lm": "fast", "temperature": 0.2, "max_tokens": 200, "max_retries": 2}`: `lm` names one of
the run's language models; the request parameters below override that model's defaults; the
control keys steer the run. Any other key (a variable another component reads) is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dspex_gql.engine.adapters.base import AdapterError
from dspex_gql.engine.language_models import LM_KEY

DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_ITERS = 10


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number_in(low: float, high: float) -> Callable[[Any], bool]:
    return lambda value: _is_number(value) and low <= value <= high


def _integer_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: _is_integer(value) and low <= value <= high


def _is_stop(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return (
        isinstance(value, list)
        and 1 <= len(value) <= 4
        and all(isinstance(item, str) and item for item in value)
    )


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


REQUEST_PARAMETERS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_number_in(0, 2), "a number between 0 and 2"),
    "max_tokens": (_integer_in(1, 1_000_000), "an integer between 1 and 1000000"),
    "top_p": (_number_in(0, 1), "a number between 0 and 1"),
    "stop": (_is_stop, "a non-empty string or a list of 1 to 4 non-empty strings"),
    "seed": (_is_integer, "an integer"),
    "presence_penalty": (_number_in(-2, 2), "a number between -2 and 2"),
    "frequency_penalty": (_number_in(-2, 2), "a number between -2 and 2"),
}
"""What a configuration (or a language model's defaults) may send with each request."""

CONTROLS: dict[str, tuple[Callable[[Any], bool], str]] = {
    LM_KEY: (lambda value: isinstance(value, str) and bool(value.strip()), "a model name"),
    "tools": (_is_string_list, "a list of tool names"),
    "max_retries": (_integer_in(0, 10), "an integer between 0 and 10"),
    "timeout_seconds": (lambda value: _is_number(value) and 0 < value <= 600, "0 < seconds <= 600"),
    "max_iters": (_integer_in(1, 50), "an integer between 1 and 50"),
}
"""Keys the adapter itself reads; `timeout_seconds` bounds each LM call, `max_iters` ReAct."""


def configuration_problems(configuration: Mapping[str, Any]) -> list[str]:
    """Problems with a configuration, [] when fine; cheap (no dspy import)."""
    problems = [] if LM_KEY in configuration else [f"'{LM_KEY}' is required: name a language model"]
    for key, (is_valid, expected) in (CONTROLS | REQUEST_PARAMETERS).items():
        if key in configuration and not is_valid(configuration[key]):
            problems.append(f"'{key}' must be {expected}, got {configuration[key]!r}")
    return problems


def request_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """The valid request parameters among `values`: `{"temperature": 0, "x": 1}` → temperature."""
    return {
        key: values[key]
        for key, (is_valid, _) in REQUEST_PARAMETERS.items()
        if key in values and is_valid(values[key])
    }


@dataclass(frozen=True)
class RunSettings:
    lm: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[str, ...] = ()
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_iters: int = DEFAULT_MAX_ITERS

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> RunSettings:
        if problems := configuration_problems(configuration):
            raise AdapterError(f"Invalid dspy configuration: {'; '.join(problems)}")
        return cls(
            lm=configuration[LM_KEY],
            parameters=request_parameters(configuration),
            tools=tuple(configuration.get("tools", ())),
            max_retries=configuration.get("max_retries", DEFAULT_MAX_RETRIES),
            timeout_seconds=configuration.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            max_iters=configuration.get("max_iters", DEFAULT_MAX_ITERS),
        )
