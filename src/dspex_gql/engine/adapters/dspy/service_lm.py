"""`ServiceLM`: a `dspy.LM` for a shared service. Imports dspy: loaded only after `load_dspy()`.

Each call goes through the model's limiter, gets a deadline per try and our retries of transient
failures (DSPy's own retries are off: `num_retries=0`), and is recorded in the current run's
scope rather than in `lm.history`, the module histories and DSPy's global history, which
concurrent runs share and which would keep thousands of prompts alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import dspy
from dspy.utils.exceptions import is_retryable_lm_error

from dspex_gql.engine.adapters.dspy.calls import (
    current_call,
    current_scope,
    recorded_call,
    scope_if_any,
)
from dspex_gql.engine.adapters.dspy.limiter import ModelLimiter
from dspex_gql.engine.adapters.dspy.retries import (
    Backoff,
    CallPolicy,
    with_retries,
    with_retries_in_thread,
)

THREAD_POLICY = CallPolicy(max_retries=3, backoff=Backoff(base_seconds=0.5, max_seconds=5.0))
"""Calls made outside a run's scope (a compile's worker threads) retry like a run's default."""


def is_transient(error: Exception) -> bool:
    """Rate limits, timeouts (DSPy's or our deadline), 5xx and connection failures."""
    return isinstance(error, TimeoutError) or bool(is_retryable_lm_error(error))


def on_native_engine(lm: Any) -> Any:
    """A copy of `lm` pinned to DSPy's native engine when that engine can route its model, else
    `lm` itself (engine "auto"). "auto" hands every call to LiteLLM as soon as OPENAI_API_BASE
    (or another `<PROVIDER>_API_BASE`) is set in the environment, even with an explicit
    `api_base`: a 4 s import and 170 MB more on the first call, and another HTTP stack."""
    try:
        from dspy.clients.backend_selection import select_backend

        native = lm.copy(engine="lm15")
        select_backend(native)
    except Exception:
        return lm
    return native


class ServiceLM(dspy.LM):  # type: ignore[misc]
    limiter: ModelLimiter

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        scope = current_scope()

        async def attempt(number: int) -> Any:
            async with self.limiter:
                return await self._recorded_call(number, prompt, messages, kwargs)

        return await with_retries(attempt, scope.policy, is_transient)

    async def _recorded_call(
        self, attempt: int, prompt: Any, messages: Any, kwargs: Mapping[str, Any]
    ) -> Any:
        scope = current_scope()
        with recorded_call(scope, messages if messages is not None else prompt, attempt):
            async with asyncio.timeout(scope.policy.timeout_seconds):
                return await super().acall(prompt, messages=messages, **kwargs)

    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """A call made by a worker thread (DSPy's optimizers compile in threads): the model's
        thread allowance and our retries of transient failures, with the compile's policy."""
        scope = scope_if_any()
        policy = THREAD_POLICY if scope is None else scope.policy

        def attempt(_number: int) -> Any:
            with self.limiter.in_thread():
                return super(ServiceLM, self).__call__(prompt, messages=messages, **kwargs)

        return with_retries_in_thread(attempt, policy, is_transient)

    def update_history(self, entry: Mapping[str, Any]) -> None:
        """Called by DSPy once per completed call: the entry goes to this run's record only."""
        if (call := current_call()) is not None:
            call.entry = entry
