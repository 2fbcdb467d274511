"""Run a DAG's nodes as soon as their dependencies succeed, in parallel up to a bound.

    runner = DagRunner(definition, context, states, call_program, listener, limits)
    await runner.run()          # every node ends SUCCESS, FAILED or SKIPPED

A PROGRAM node calls its program (`call_program`, one call per attempt, or per item and attempt
when fanned out), retried up to `maxRetries` times with exponential backoff, each call bounded by
the node's timeout; a TRANSFORM node reshapes its inputs. A node that fails for good skips every
node downstream of it; the rest of the DAG goes on. Nodes already SUCCESS in `states` (a resumed
run, a retried run reusing outputs) are not run again. At most `limits.max_parallel` calls are
under way: a node waiting for a slot stays PENDING until its first call has one.

Cancelling `run()` cancels the nodes under way (CANCELLED) and skips the nodes not started, or,
when `suspends(reason)` holds for the cancellation's reason (a shutdown of a resumable run),
leaves every unfinished node PENDING to be run by whoever resumes the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dspex_gql.engine.adapters.base import AdapterResult
from dspex_gql.engine.dags.definition import DagDefinition, NodeDefinition, NodeKind
from dspex_gql.engine.dags.states import Call, CallStatus, NodeState, RunStatus, now
from dspex_gql.engine.dags.transforms import apply_transform

logger = logging.getLogger(__name__)


class CallFailed(Exception):
    """A call's failure in its own words (an adapter's error, a quota): retried if allowed."""


class RunListener(Protocol):
    def node_changed(self, node: NodeState) -> None: ...

    def call_changed(self, call: Call) -> None: ...


CallProgram = Callable[[NodeDefinition, Call], Awaitable[AdapterResult]]


@dataclass(frozen=True)
class NodeLimits:
    max_parallel: int = 16
    """Program calls under way at once in one run."""
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    def backoff(self, retry: int) -> float:
        """Before retry number `retry` (1, 2, …): 0.5, 1, 2 … seconds, at most the max."""
        return float(min(self.backoff_seconds * 2 ** (retry - 1), self.backoff_max_seconds))


def _never(_reason: str) -> bool:
    return False


class DagRunner:
    def __init__(
        self,
        definition: DagDefinition,
        context: Mapping[str, Any],
        states: Mapping[str, NodeState],
        call_program: CallProgram,
        listener: RunListener,
        limits: NodeLimits,
        suspends: Callable[[str], bool] = _never,
    ) -> None:
        self._nodes = {node.name: node for node in definition.nodes}
        self._context = context
        self._states = states
        self._call_program = call_program
        self._listener = listener
        self._limits = limits
        self._suspends = suspends
        self._slots = asyncio.Semaphore(limits.max_parallel)
        self._dependents: dict[str, list[str]] = {name: [] for name in self._nodes}
        for node in definition.nodes:
            for dependency in node.dependencies:
                self._dependents[dependency].append(node.name)
        self._unmet: dict[str, int] = {}
        """Per node, its dependencies not (yet) SUCCESS: a node waiting on 998 others is not
        rescanned each time one of them succeeds."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._clocks: dict[str, float] = {}
        """When each RUNNING node began (`perf_counter`), for its duration."""
        self._all_done = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        self._unmet = {
            name: sum(self._states[d].status is not RunStatus.SUCCESS for d in node.dependencies)
            for name, node in self._nodes.items()
        }
        for name, state in self._states.items():
            if state.status in (RunStatus.FAILED, RunStatus.SKIPPED):  # a resumed run's
                self._skip_downstream(name, f"upstream node '{name}' {state.status.lower()}")
        for name in self._nodes:
            if self._ready(name):
                self._start(name)
        if not self._tasks:
            return
        try:
            await self._all_done.wait()
        except asyncio.CancelledError as error:
            await self._stop(_reason(error))
            raise

    # -- scheduling -------------------------------------------------------------------------------

    def _ready(self, name: str) -> bool:
        return self._states[name].status is RunStatus.PENDING and self._unmet[name] == 0

    def _start(self, name: str) -> None:
        task = asyncio.create_task(self._run_node(self._nodes[name], self._states[name]))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._all_done.set()

    def _after(self, node: NodeState) -> None:
        """Start what `node` succeeding makes ready, or skip what its failure dooms."""
        if self._stopping:
            return
        if node.status is RunStatus.SUCCESS:
            for name in self._dependents[node.name]:
                self._unmet[name] -= 1
                if self._ready(name):
                    self._start(name)
        elif node.status is RunStatus.FAILED:
            self._skip_downstream(node.name, f"upstream node '{node.name}' failed")

    def _skip_downstream(self, name: str, reason: str) -> None:
        """Depth-first without recursion: a chain of `MAX_NODES` would pass Python's limit."""
        doomed = list(reversed(self._dependents[name]))
        while doomed:
            state = self._states[doomed.pop()]
            if state.status is RunStatus.PENDING:
                self._end(state, RunStatus.SKIPPED, error=reason)
                doomed.extend(reversed(self._dependents[state.name]))

    async def _stop(self, reason: str) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel(reason)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        suspended = self._suspends(reason)
        for state in self._states.values():
            if suspended and not state.status.is_terminal:
                state.reset()
                self._listener.node_changed(state)
            elif state.status is RunStatus.PENDING:
                self._end(state, RunStatus.SKIPPED, error=reason)

    # -- one node ---------------------------------------------------------------------------------

    async def _run_node(self, node: NodeDefinition, state: NodeState) -> None:
        """A PROGRAM node is RUNNING once its first call has a slot; until then it waits PENDING
        (a cancel skips it), and its time starts then."""
        try:
            state.inputs = self._inputs_of(node)
            if node.kind is NodeKind.TRANSFORM:
                self._begin(state)
            result = await self._perform(node, state, state.inputs)
        except asyncio.CancelledError as error:
            reason = _reason(error)
            if not self._suspends(reason):
                ran = state.status is RunStatus.RUNNING
                self._end(state, RunStatus.CANCELLED if ran else RunStatus.SKIPPED, error=reason)
            raise
        except CallFailed as error:
            self._end(state, RunStatus.FAILED, error=str(error))
        except Exception as error:
            self._end(state, RunStatus.FAILED, error=_internal_error(node.name, error))
        else:
            self._end(state, RunStatus.SUCCESS, result=result)
        self._after(state)

    def _begin(self, state: NodeState, call: Call | None = None) -> None:
        """The node is RUNNING (from its first call), at `call`'s attempt if it is a later one (a
        node's attempts go on from those stored; a fanned-out item's may be behind another's)."""
        began = state.status is RunStatus.PENDING
        if began:
            state.status, state.started_at = RunStatus.RUNNING, now()
            self._clocks[state.name] = time.perf_counter()
        attempt = state.attempts if call is None else max(state.attempts, call.attempt)
        later, state.attempts = attempt != state.attempts, attempt
        if began or later:
            self._listener.node_changed(state)

    def _inputs_of(self, node: NodeDefinition) -> dict[str, Any]:
        inputs = {}
        for target, reference in node.inputs.items():
            if reference.node is None:
                source: Mapping[str, Any] = self._context
            else:
                source = self._states[reference.node].result or {}
            if reference.field not in source:
                raise CallFailed(f"input '{target}': {reference.label} has no value")
            inputs[target] = source[reference.field]
        return inputs

    async def _perform(
        self, node: NodeDefinition, state: NodeState, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        if node.kind is NodeKind.TRANSFORM:
            assert node.transform is not None, "a parsed TRANSFORM node has its transform"
            return apply_transform(node.transform, inputs)
        if node.fan_out is None:
            return await self._attempts(node, state, inputs)
        items = inputs[node.fan_out]
        if not isinstance(items, list):
            raise CallFailed(f"fanOut input '{node.fan_out}' is not a list")
        return await self._fanned_out(node, state, inputs, items)

    async def _fanned_out(
        self, node: NodeDefinition, state: NodeState, inputs: dict[str, Any], items: list[Any]
    ) -> dict[str, Any]:
        fan_out = node.fan_out or ""
        if not items:
            self._begin(state)  # nothing to call: it runs, and ends, at once
        calls = [
            self._attempts(node, state, {**inputs, fan_out: item}, index)
            for index, item in enumerate(items)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for index, outcome in enumerate(results):
            if isinstance(outcome, BaseException):
                if isinstance(outcome, CallFailed):
                    raise CallFailed(f"item {index}: {outcome}") from outcome
                raise outcome
        gathered: dict[str, list[Any]] = {}
        for outputs in results:
            assert isinstance(outputs, dict)
            for name, value in outputs.items():
                gathered.setdefault(name, []).append(value)
        return dict(gathered)

    async def _attempts(
        self,
        node: NodeDefinition,
        state: NodeState,
        inputs: dict[str, Any],
        item: int | None = None,
    ) -> dict[str, Any]:
        """Call the program until a call succeeds or `maxRetries` retries failed too."""
        first = state.attempts + 1 if item is None else 1
        for attempt in range(first, first + node.max_retries + 1):
            if attempt > first:
                await asyncio.sleep(self._limits.backoff(attempt - first))  # backoff
            call = Call(node.name, node.program_id or "", inputs, attempt, item)
            try:
                result = await self._call(node, state, call)
            except CallFailed:
                if attempt == first + node.max_retries:
                    raise
                continue
            return dict(result.outputs)
        raise AssertionError("the last attempt returns or raises")

    async def _call(self, node: NodeDefinition, state: NodeState, call: Call) -> AdapterResult:
        async with self._slots:
            call.started_at, clock = now(), time.perf_counter()
            if node.fan_out is None:
                state.execution_id = call.id
            self._begin(state, call)
            self._listener.call_changed(call)
            # None without a timeout: entering `asyncio.timeout(None)` costs ~1.5 µs a call
            deadline = (
                None if node.timeout_seconds is None else asyncio.timeout(node.timeout_seconds)
            )
            try:
                if deadline is None:
                    result = await self._call_program(node, call)
                else:
                    async with deadline:
                        result = await self._call_program(node, call)
            except asyncio.CancelledError as error:
                reason = _reason(error)
                self._end_call(call, CallStatus.CANCELLED, clock, error=reason)
                raise
            except TimeoutError as error:
                if deadline is None or not deadline.expired():  # the program's own, not the node's
                    message = _internal_error(f"{call.node} (call {call.id})", error)
                else:
                    message = f"timed out after {node.timeout_seconds:g} s"
                self._end_call(call, CallStatus.FAILED, clock, error=message)
                raise CallFailed(message) from error
            except CallFailed as error:
                self._end_call(call, CallStatus.FAILED, clock, error=str(error))
                raise
            except Exception as error:
                message = _internal_error(f"{call.node} (call {call.id})", error)
                self._end_call(call, CallStatus.FAILED, clock, error=message)
                raise CallFailed(message) from error
        self._end_call(call, CallStatus.COMPLETED, clock, result=result)
        state.cost += result.cost
        state.prompt_tokens += result.prompt_tokens
        state.completion_tokens += result.completion_tokens
        return result

    # -- recording --------------------------------------------------------------------------------

    def _end(
        self,
        state: NodeState,
        status: RunStatus,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        """A node that never began (skipped, or its inputs missing) has no duration."""
        state.status, state.error, state.result = status, error, result
        state.completed_at = now()
        clock = self._clocks.pop(state.name, None)
        if clock is not None:
            state.duration_ms = round((time.perf_counter() - clock) * 1000)
        self._listener.node_changed(state)

    def _end_call(
        self,
        call: Call,
        status: CallStatus,
        clock: float,
        *,
        error: str | None = None,
        result: AdapterResult | None = None,
    ) -> None:
        call.status, call.error, call.result = status, error, result
        call.completed_at = now()
        call.duration_ms = round((time.perf_counter() - clock) * 1000)
        call.sequence += 1
        self._listener.call_changed(call)


def _reason(cancelled: asyncio.CancelledError) -> str:
    """Why the task was cancelled: the message `task.cancel(message)` gave."""
    return str(cancelled.args[0]) if cancelled.args else "Cancelled"


def _internal_error(where: str, error: Exception) -> str:
    error_id = uuid.uuid4().hex[:12]
    logger.error("node %s failed unexpectedly (error id %s)", where, error_id, exc_info=error)
    return f"Internal error (error id {error_id})"
