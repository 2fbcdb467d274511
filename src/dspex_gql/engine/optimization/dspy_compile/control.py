"""Budgets and stopping for one compile, shared by the event loop and DSPy's threads.

DSPy's callbacks call `checkpoint()` (and `lm_call_starting()` before each LM call); once a
budget is spent or a stop was requested they raise `StopCompile`, a BaseException, which no
optimizer catches (they catch Exception), so the compile unwinds within one LM call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from dspex_gql.engine.optimization.dspy_compile.model import Prices, StopReason


class StopCompile(BaseException):
    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class RunControl:
    def __init__(
        self,
        *,
        max_lm_calls: int | None = None,
        max_cost: float | None = None,
        timeout_seconds: float | None = None,
        prices: Prices | None = None,
        out_of_quota: Callable[[], bool] | None = None,
    ) -> None:
        self.out_of_quota = out_of_quota
        self.max_lm_calls = max_lm_calls
        self.max_cost = max_cost
        self.timeout_seconds = timeout_seconds
        self.prices = prices or Prices()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop_reason: StopReason | None = None
        self._stopped = threading.Event()
        self.calls_started = 0
        self.calls_finished = 0
        self.calls_failed = 0
        self.first_failure: str | None = None
        self.cost = 0.0

    @property
    def elapsed_seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def in_flight(self) -> int:
        return self.calls_started - self.calls_finished

    @property
    def stop_reason(self) -> StopReason | None:
        return self._stop_reason

    def request_stop(self, reason: StopReason) -> None:
        """The first reason wins; DSPy's threads stop at their next checkpoint."""
        with self._lock:
            self._stop(reason)

    def checkpoint(self) -> None:
        if self._timed_out():
            self.request_stop(StopReason.TIMEOUT)
        self._raise_if_stopped()

    def lm_call_starting(self) -> None:
        """Raises StopCompile instead of letting a call start past a budget."""
        with self._lock:
            reason = self._exhausted()
            if reason is not None:
                self._stop(reason)
            self._raise_if_stopped()
            self.calls_started += 1

    def lm_call_finished(self, error: BaseException | None = None) -> None:
        with self._lock:
            self.calls_finished += 1
            if error is not None and not isinstance(error, StopCompile):
                self.calls_failed += 1
                self.first_failure = self.first_failure or f"{type(error).__name__}: {error}"

    @property
    def every_call_failed(self) -> bool:
        return self.calls_finished > 0 and self.calls_failed == self.calls_finished

    def add_usage(self, usage: Mapping[str, Any]) -> None:
        prompt, completion = _tokens(usage, "prompt_tokens"), _tokens(usage, "completion_tokens")
        cost = (
            prompt * self.prices.prompt_per_million
            + completion * self.prices.completion_per_million
        ) / 1_000_000
        with self._lock:
            self.cost += cost

    def _stop(self, reason: StopReason) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stopped.set()

    def _raise_if_stopped(self) -> None:
        if self._stopped.is_set():
            raise StopCompile(self._stop_reason or StopReason.CANCELLED)

    def _exhausted(self) -> StopReason | None:
        if self.max_lm_calls is not None and self.calls_started >= self.max_lm_calls:
            return StopReason.MAX_LM_CALLS
        if self.max_cost is not None and self.cost >= self.max_cost:
            return StopReason.MAX_COST
        if self._timed_out():
            return StopReason.TIMEOUT
        if self.out_of_quota is not None and self.out_of_quota():
            return StopReason.COMPUTE_QUOTA
        return None

    def _timed_out(self) -> bool:
        limit = self.timeout_seconds
        return limit is not None and self.elapsed_seconds >= limit


def _tokens(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
