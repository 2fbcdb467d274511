"""What an adapter needs to call a language model: the `LanguageModel` resource, resolved.

Services resolve the names a program's configuration uses (`{"lm": "fast"}`) into specs when a
run starts, so a job carries its models with it and never reads them from the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dspex_gql.engine.variables.model import Choices, SearchSpace

LM_KEY = "lm"
"""The configuration key that names a language model: `{"lm": "gpt-mini", "temperature": 0}`."""
LM_ADAPTER = "dspy"
"""The adapter whose programs name a language model under `LM_KEY`."""


@dataclass(frozen=True)
class LanguageModelSpec:
    id: str
    """Stable identity (the resource's id): per-model limits and client caches key on it."""
    revision: str
    """Changes whenever the resource changes (its `updatedAt`): cached clients are rebuilt."""
    name: str
    model: str
    """As DSPy/litellm spell it: `openai/gpt-4o-mini`, `ollama_chat/llama3`."""
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    """Decrypted, for the call only: never logged, never stored in a trace."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Request parameters (temperature, max_tokens…) a configuration may override."""
    prompt_price_per_million: float | None = None
    completion_price_per_million: float | None = None
    max_concurrency: int = 8
    requests_per_minute: int | None = None


@dataclass(frozen=True)
class ModelCheck:
    """The answer to `testLanguageModel`: one tiny call."""

    ok: bool
    latency_ms: float
    error: str | None = None


def named_models(configuration: Mapping[str, Any]) -> set[str]:
    """The language model a configuration names: `{"lm": "fast"}` → {"fast"}."""
    name = configuration.get(LM_KEY)
    return {name} if isinstance(name, str) else set()


def space_models(space: SearchSpace) -> set[str]:
    """Every language model a search space can choose: the string values of its `lm` variable."""
    return {
        value
        for variable in space.variables
        if variable.name == LM_KEY and isinstance(variable.domain, Choices)
        for value in variable.domain.values
        if isinstance(value, str)
    }


LanguageModelProbe = Callable[[LanguageModelSpec], Awaitable[ModelCheck]]
"""Makes one tiny call to a model: `await probe(spec)` answers `testLanguageModel`."""
