"""`DspyAdapter`: runs a program as a real DSPy module against the language model its
configuration names (`{"lm": "fast"}`), asynchronously, one run per asyncio task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.adapters.base import AdapterError, AdapterRequest, AdapterResult
from dspex_gql.engine.adapters.dspy.calls import CallRecorder, RunScope, run_scope
from dspex_gql.engine.adapters.dspy.configuration import RunSettings, configuration_problems
from dspex_gql.engine.adapters.dspy.custom_modules import custom_module_names
from dspex_gql.engine.adapters.dspy.failures import (
    lm_failure_message,
    parse_failure_message,
    program_failure_message,
    secrets_of,
)
from dspex_gql.engine.adapters.dspy.lm import LanguageModelUnusable, language_model
from dspex_gql.engine.adapters.dspy.loader import is_lm_error, is_parse_error
from dspex_gql.engine.adapters.dspy.modules import build_module, dspy_for_runs
from dspex_gql.engine.adapters.dspy.outputs import prediction_outputs
from dspex_gql.engine.adapters.dspy.retries import Backoff, CallPolicy
from dspex_gql.engine.language_models import LanguageModelSpec


class DspyAdapter:
    name = "dspy"

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()

    def check_configuration(self, configuration: Mapping[str, Any]) -> list[str]:
        return configuration_problems(configuration)

    def implementation_names(self) -> list[str]:
        """The `dspy.Module`s a CUSTOM program may name (imports nothing)."""
        return custom_module_names()

    async def run(self, request: AdapterRequest) -> AdapterResult:
        settings = RunSettings.from_configuration(request.configuration)
        spec = _language_model_spec(request, settings.lm)
        dspy = await dspy_for_runs()
        module = await build_module(request)
        try:
            lm = language_model(spec, settings.parameters)
        except LanguageModelUnusable as error:
            raise AdapterError(f"The language model {error}") from error
        policy = CallPolicy(settings.max_retries, settings.timeout_seconds, self.backoff)
        scope = RunScope(policy, CallRecorder())
        with run_scope(scope), dspy.context(lm=lm, track_usage=True):
            prediction = await _predict(module, request.inputs, spec, scope)
        outputs = prediction_outputs(prediction, request.signature, request.program_type)
        return _result(request, spec, outputs, prediction, scope)


def _language_model_spec(request: AdapterRequest, name: str) -> LanguageModelSpec:
    if (spec := request.language_models.get(name)) is not None:
        return spec
    known = ", ".join(sorted(request.language_models)) or "none"
    raise AdapterError(f"The language model '{name}' is not available to this run; known: {known}")


async def _predict(
    module: Any, inputs: Mapping[str, Any], spec: LanguageModelSpec, scope: RunScope
) -> Any:
    try:
        return await module.acall(**inputs)
    except AdapterError:
        raise
    except Exception as error:
        raise AdapterError(_failure_message(error, spec, scope)) from error


def _failure_message(error: Exception, spec: LanguageModelSpec, scope: RunScope) -> str:
    if isinstance(error, TimeoutError) or is_lm_error(error):
        attempts = scope.recorder.consecutive_failures if scope.recorder else 1
        return lm_failure_message(error, spec, attempts, scope.policy.timeout_seconds)
    if is_parse_error(error):
        return parse_failure_message(error, secrets_of(spec))
    return program_failure_message(error, secrets_of(spec))


def _result(
    request: AdapterRequest,
    spec: LanguageModelSpec,
    outputs: dict[str, Any],
    prediction: Any,
    scope: RunScope,
) -> AdapterResult:
    recorder = scope.recorder or CallRecorder()
    prompt_tokens, completion_tokens = _tokens(prediction, recorder)
    return AdapterResult(
        outputs=outputs,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=_cost(spec, prompt_tokens, completion_tokens, recorder),
        trace=_trace(request, spec, recorder),
        metadata={"adapter": "dspy", "model": spec.model, "lm_calls": len(recorder.calls)},
    )


def _tokens(prediction: Any, recorder: CallRecorder) -> tuple[int, int]:
    """From `prediction.get_lm_usage()` (all models), else from the recorded calls."""
    get_usage = getattr(prediction, "get_lm_usage", None)
    usage = get_usage() if callable(get_usage) else None
    if not isinstance(usage, Mapping) or not usage:
        return recorder.prompt_tokens, recorder.completion_tokens
    totals = [entry for entry in usage.values() if isinstance(entry, Mapping)]
    return (
        sum(int(entry.get("prompt_tokens") or 0) for entry in totals),
        sum(int(entry.get("completion_tokens") or 0) for entry in totals),
    )


def _cost(
    spec: LanguageModelSpec, prompt_tokens: int, completion_tokens: int, recorder: CallRecorder
) -> float:
    """Our prices (per million tokens) when the model has any, else DSPy's estimate, else 0."""
    prices = (spec.prompt_price_per_million, spec.completion_price_per_million)
    if prices == (None, None):
        return recorder.cost
    prompt_price, completion_price = (price or 0.0 for price in prices)
    return (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1e6


def _trace(
    request: AdapterRequest, spec: LanguageModelSpec, recorder: CallRecorder
) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "adapter": "dspy",
        "model": spec.model,
        "language_model": spec.name,
        "program_type": request.program_type.value,
        "calls": recorder.trace_calls(spec.model),
    }
    if recorder.untraced_calls:
        trace["untraced_calls"] = recorder.untraced_calls
    return trace
