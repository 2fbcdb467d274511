"""The service's Prometheus metrics, in a registry of its own (one per app: tests build many).

telemetry = Telemetry(settings.metrics)
telemetry.operation("listPrograms", "query", 0.004)
generate_latest(telemetry.registry)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from dspex_gql.config import MetricsSettings
from dspex_gql.observability.labels import BoundedChildren, is_graphql_name
from dspex_gql.observability.runtime_metrics import RuntimeCollector, Sources
from dspex_gql.observability.tracing import Tracing

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LM_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
UNKNOWN_MODEL = "unknown"


class LanguageModelUse(Protocol):
    """What an adapter's result tells of its calls (`AdapterResult`)."""

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def cost(self) -> float: ...
    @property
    def metadata(self) -> dict[str, Any]: ...


Use = TypeVar("Use", bound=LanguageModelUse)


class _OperationChildren:
    __slots__ = ("by_type", "duration")

    def __init__(self, telemetry: Telemetry, name: str) -> None:
        self.duration = telemetry.operation_durations.labels(name)
        self.by_type = {
            kind: telemetry.operations.labels(name, kind)
            for kind in ("query", "mutation", "subscription", "invalid")
        }


class _ModelChildren:
    __slots__ = ("calls", "completion", "cost", "duration", "failures", "prompt")

    def __init__(self, telemetry: Telemetry, model: str) -> None:
        self.calls = telemetry.lm_calls.labels(model, "ok")
        self.failures = telemetry.lm_calls.labels(model, "error")
        self.prompt = telemetry.lm_tokens.labels(model, "prompt")
        self.completion = telemetry.lm_tokens.labels(model, "completion")
        self.cost = telemetry.lm_cost.labels(model)
        self.duration = telemetry.lm_durations.labels(model)


class Telemetry:
    def __init__(
        self, settings: MetricsSettings | None = None, tracing: Tracing | None = None
    ) -> None:
        settings = settings or MetricsSettings()
        self.tracing = tracing or Tracing()
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: 2x
        self.registry = registry = CollectorRegistry()
        self._graphql_metrics(registry)
        self._lm_metrics(registry)
        self.runtime = RuntimeCollector()
        registry.register(self.runtime)
        self._operations = BoundedChildren(
            settings.max_operation_names, self._operation_children, valid=is_graphql_name
        )
        self._models = BoundedChildren(settings.max_models, self._model_children)
        self._error_codes: dict[str, Any] = {}

    def _graphql_metrics(self, registry: CollectorRegistry) -> None:
        self.operations = Counter(
            "dspex_graphql_operations",
            "GraphQL operations, by operation name (`anonymous` without one) and type",
            ["operation", "type"],
            registry=registry,
        )
        self.operation_durations = Histogram(
            "dspex_graphql_operation_duration_seconds",
            "Time to answer a query or mutation, by operation name (a subscription: its life)",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "dspex_graphql_errors",
            "Errors in GraphQL responses, by `extensions.code`",
            ["code"],
            registry=registry,
        )
        self.subscriptions = Gauge(
            "dspex_graphql_subscriptions_active",
            "GraphQL subscriptions open on this process's websockets",
            registry=registry,
        )

    def _lm_metrics(self, registry: CollectorRegistry) -> None:
        self.lm_calls = Counter(
            "dspex_lm_calls",
            "Program runs on a language model, by model and outcome",
            ["model", "outcome"],
            registry=registry,
        )
        self.lm_tokens = Counter(
            "dspex_lm_tokens",
            "Language model tokens, by model and kind (prompt, completion)",
            ["model", "kind"],
            registry=registry,
        )
        self.lm_cost = Counter(
            "dspex_lm_cost_usd",
            "Language model cost in US dollars, by model",
            ["model"],
            registry=registry,
        )
        self.lm_durations = Histogram(
            "dspex_lm_call_duration_seconds",
            "Time of one program run, by model",
            ["model"],
            buckets=LM_BUCKETS,
            registry=registry,
        )

    def _operation_children(self, name: str) -> _OperationChildren:
        return _OperationChildren(self, name)

    def _model_children(self, model: str) -> _ModelChildren:
        return _ModelChildren(self, model)

    def watch(self, sources: Sources | None) -> None:
        """Read the runtime's own counts at each scrape (None: no longer)."""
        self.runtime.watch(sources)

    def operation(self, name: str | None, kind: str, seconds: float) -> None:
        children = self._operations[name]
        children.by_type[kind].inc()
        children.duration.observe(seconds)

    def error(self, code: str) -> None:
        child = self._error_codes.get(code)
        if child is None:
            if len(self._error_codes) >= 100:  # codes are ours; this only guards the bound
                code = "OTHER"
            child = self._error_codes[code] = self.errors.labels(code)
        child.inc()

    async def lm_call(self, call: Awaitable[Use]) -> Use:
        """Await one program run, counting its model's calls, tokens, cost and time."""
        started = time.perf_counter()
        with self.tracing.span("lm.call") as span:
            try:
                result = await call
            except Exception:
                self._models[UNKNOWN_MODEL].failures.inc()
                raise
            model = result.metadata.get("model")
            if span is not None:
                span.set_attributes(_span_attributes(result))
        children = self._models[model if isinstance(model, str) else UNKNOWN_MODEL]
        children.calls.inc()
        children.prompt.inc(result.prompt_tokens)
        children.completion.inc(result.completion_tokens)
        children.cost.inc(result.cost)
        children.duration.observe(time.perf_counter() - started)
        return result


def _span_attributes(result: LanguageModelUse) -> dict[str, str | int | float]:
    model = result.metadata.get("model")
    return {
        "lm.model": model if isinstance(model, str) else UNKNOWN_MODEL,
        "lm.prompt_tokens": result.prompt_tokens,
        "lm.completion_tokens": result.completion_tokens,
        "lm.cost_usd": result.cost,
    }
