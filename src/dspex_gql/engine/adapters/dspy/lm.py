"""Language models as `dspy.LM`s: one client per model revision, copied per run's parameters.

`language_model(spec, {"temperature": 0.2})` is the cached `ServiceLM` of `(spec.id,
spec.revision)`, built with the request parameters among `spec.defaults`, or a copy of it with
the run's parameters (a copy shares the connection pool). DSPy's cache and retries are off: runs
retry themselves (`retries`), and per-model limits are in `limiter`.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.adapters.dspy.calls import RunScope, run_scope
from dspex_gql.engine.adapters.dspy.configuration import request_parameters
from dspex_gql.engine.adapters.dspy.failures import lm_failure_message, scrubbed, secrets_of
from dspex_gql.engine.adapters.dspy.limiter import limiter_for
from dspex_gql.engine.adapters.dspy.loader import (
    DspyUnavailable,
    is_lm_error,
    load_dspy,
    require_dspy,
)
from dspex_gql.engine.adapters.dspy.retries import CallPolicy
from dspex_gql.engine.language_models import LanguageModelSpec, ModelCheck

MAX_CACHED_LMS = 64
NO_API_KEY = "no-api-key"
"""Sent when a model has no key (a local server): DSPy would otherwise look for one in the
environment."""
PROBE_TIMEOUT_SECONDS = 15.0

_lms: OrderedDict[tuple[str, str], Any] = OrderedDict()
_lock = threading.Lock()


class LanguageModelUnusable(ValueError):
    pass


def language_model(spec: LanguageModelSpec, parameters: Mapping[str, Any]) -> Any:
    base = _cached_lm(spec)
    overrides = {key: value for key, value in parameters.items() if base.kwargs.get(key) != value}
    return base.copy(**overrides) if overrides else base


def _cached_lm(spec: LanguageModelSpec) -> Any:
    key = (spec.id, spec.revision)
    with _lock:
        if (lm := _lms.get(key)) is not None:
            _lms.move_to_end(key)
            return lm
    lm = _new_lm(spec)
    with _lock:
        lm = _lms.setdefault(key, lm)
        while len(_lms) > MAX_CACHED_LMS:
            _lms.popitem(last=False)
    return lm


def _new_lm(spec: LanguageModelSpec) -> Any:
    require_dspy()
    service_lm = importlib.import_module("dspex_gql.engine.adapters.dspy.service_lm")
    connection = {"api_base": spec.base_url} if spec.base_url else {}
    try:
        lm = service_lm.ServiceLM(
            spec.model,
            api_key=spec.api_key or NO_API_KEY,
            cache=False,
            num_retries=0,
            **connection,
            **request_parameters(spec.defaults),
        )
    except Exception as error:
        message = f"'{spec.name}' ({spec.model}) cannot be used: {error}"
        raise LanguageModelUnusable(scrubbed(message, secrets_of(spec))) from error
    lm = service_lm.on_native_engine(lm)
    lm.limiter = limiter_for(spec)
    return lm


def forget_language_models() -> None:
    with _lock:
        _lms.clear()


async def probe_language_model(
    spec: LanguageModelSpec, *, timeout_seconds: float = PROBE_TIMEOUT_SECONDS
) -> ModelCheck:
    """One tiny call ("ping", one token) through the model's limiter; never raises."""
    started = time.perf_counter()
    try:
        await load_dspy()
        lm = language_model(spec, {"max_tokens": 1})
        with run_scope(RunScope(CallPolicy(max_retries=0, timeout_seconds=timeout_seconds))):
            await lm.acall("ping")
    except Exception as error:
        message = _probe_failure(error, spec, timeout_seconds)
        return ModelCheck(ok=False, latency_ms=_ms_since(started), error=message)
    return ModelCheck(ok=True, latency_ms=_ms_since(started))


def _probe_failure(error: Exception, spec: LanguageModelSpec, timeout_seconds: float) -> str:
    if isinstance(error, LanguageModelUnusable | DspyUnavailable):
        return str(error)
    if isinstance(error, TimeoutError) or is_lm_error(error):
        return lm_failure_message(error, spec, 1, timeout_seconds)
    return scrubbed(f"{type(error).__name__}: {error}", secrets_of(spec))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
