"""The LM calls of one run, recorded for its trace, tokens and cost.

`lm.history` is shared by every run using that LM, so the adapter never reads it: a run sets a
`RunScope` in a context variable, and the service LM (`service_lm.ServiceLM`) records each of its
calls there — messages, answer, usage, cost, latency, failure — instead of in DSPy's histories.
Messages and answers are cut to bounded sizes; only the first `MAX_TRACED_CALLS` keep them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from dspex_gql.engine.adapters.dspy.retries import CallPolicy

MAX_TRACED_CALLS = 50
MAX_MESSAGES = 24
MAX_TEXT = 4_000


def bounded_text(text: str, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters: `bounded_text("abcdef", 3) == "abc… [3 more characters]"`."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def message_text(content: Any) -> str:
    """A chat message's text; the text parts of a multi-part content."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)


def bounded_messages(messages: Any) -> list[dict[str, str]]:
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, list):
        return []
    shown = [_shown(message) for message in messages[:MAX_MESSAGES] if isinstance(message, Mapping)]
    if len(messages) > MAX_MESSAGES:
        shown.append({"role": "note", "content": f"{len(messages) - MAX_MESSAGES} more messages"})
    return shown


def _shown(message: Mapping[str, Any]) -> dict[str, str]:
    text = bounded_text(message_text(message.get("content")))
    return {"role": str(message.get("role", "")), "content": text}


@dataclass
class LMCall:
    attempt: int
    messages: list[dict[str, str]]
    traced: bool = True
    """Only the first `MAX_TRACED_CALLS` calls of a run keep their messages for the trace."""
    started: float = field(default_factory=time.perf_counter)
    latency_ms: float = 0.0
    entry: Mapping[str, Any] | None = None
    """DSPy's history entry of the call (usage, cost, outputs, response model)."""
    error: str | None = None

    def finish(self, error: BaseException | None = None) -> None:
        self.latency_ms = round((time.perf_counter() - self.started) * 1000, 3)
        if error is not None:
            self.error = type(error).__name__

    @property
    def usage(self) -> Mapping[str, Any]:
        usage = (self.entry or {}).get("usage") or {}
        return usage if isinstance(usage, Mapping) else {}

    @property
    def prompt_tokens(self) -> int:
        return int(self.usage.get("prompt_tokens") or 0)

    @property
    def completion_tokens(self) -> int:
        return int(self.usage.get("completion_tokens") or 0)

    @property
    def cost(self) -> float:
        cost = (self.entry or {}).get("cost")
        return float(cost) if isinstance(cost, int | float) else 0.0

    def response_text(self) -> str:
        outputs = (self.entry or {}).get("outputs") or []
        first = outputs[0] if isinstance(outputs, list) and outputs else ""
        text = first.get("text") if isinstance(first, Mapping) else first
        return bounded_text(message_text(text))

    def to_trace(self, model: str) -> dict[str, Any]:
        entry = self.entry or {}
        traced: dict[str, Any] = {
            "attempt": self.attempt,
            "messages": self.messages,
            "response": self.response_text(),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
            "model": str(entry.get("response_model") or entry.get("model") or model),
        }
        return traced | ({"error": self.error} if self.error else {})


@dataclass
class CallRecorder:
    calls: list[LMCall] = field(default_factory=list)
    consecutive_failures: int = 0

    def start(self, messages: Any, attempt: int) -> LMCall:
        traced = len(self.calls) < MAX_TRACED_CALLS
        call = LMCall(attempt, bounded_messages(messages) if traced else [], traced)
        self.calls.append(call)
        return call

    def finish(self, call: LMCall, error: BaseException | None = None) -> None:
        call.finish(error)
        self.consecutive_failures = self.consecutive_failures + 1 if error else 0

    @property
    def prompt_tokens(self) -> int:
        return sum(call.prompt_tokens for call in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(call.completion_tokens for call in self.calls)

    @property
    def cost(self) -> float:
        return sum(call.cost for call in self.calls)

    def trace_calls(self, model: str) -> list[dict[str, Any]]:
        return [call.to_trace(model) for call in self.calls if call.traced]

    @property
    def untraced_calls(self) -> int:
        return sum(1 for call in self.calls if not call.traced)


@dataclass
class RunScope:
    policy: CallPolicy = field(default_factory=CallPolicy)
    recorder: CallRecorder | None = None


_scope: ContextVar[RunScope | None] = ContextVar("dspex_dspy_run_scope", default=None)
_call: ContextVar[LMCall | None] = ContextVar("dspex_dspy_lm_call", default=None)


def current_scope() -> RunScope:
    return _scope.get() or RunScope()


def scope_if_any() -> RunScope | None:
    """The run's scope, None outside one (a compile's worker threads)."""
    return _scope.get()


@contextmanager
def run_scope(scope: RunScope) -> Iterator[RunScope]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextmanager
def recorded_call(scope: RunScope, messages: Any, attempt: int) -> Iterator[None]:
    """Records one try of an LM call in the scope's recorder, if it has one; DSPy's history
    entry arrives through `current_call()` while the call runs."""
    recorder = scope.recorder
    call = recorder.start(messages, attempt) if recorder else None
    token = _call.set(call)
    try:
        yield
    except BaseException as error:
        if recorder and call:
            recorder.finish(call, error)
        raise
    else:
        if recorder and call:
            recorder.finish(call)
    finally:
        _call.reset(token)


def current_call() -> LMCall | None:
    return _call.get()
