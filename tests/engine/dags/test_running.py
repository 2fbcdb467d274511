"""The pure DAG runner: a fake `call_program` stands in for the programs, a listener records."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from dspex_gql.engine.adapters.base import AdapterResult
from dspex_gql.engine.dags.definition import DagDefinition, NodeDefinition
from dspex_gql.engine.dags.running import CallFailed, DagRunner, NodeLimits
from dspex_gql.engine.dags.states import Call, CallStatus, NodeState, RunStatus
from tests.engine.dags.helpers import dag, node

FAST = NodeLimits(backoff_seconds=0)
PATIENCE = 5.0
"""Seconds before a test gives up waiting for something that should happen at once."""


def echo(call: Call) -> dict[str, Any]:
    """`{"out": "b(x=a(q=hi))"}`: which node made it from which inputs."""
    shown = ",".join(f"{name}={value}" for name, value in call.inputs.items())
    return {"out": f"{call.node}({shown})"}


class FakePrograms:
    """A `call_program`: outputs from `outputs` (10 + 2 tokens, 0.5 cost), a `CallFailed` when
    `fails`, an exception when `raises`; a call waits for its gate (by node, or by (node, item))
    when it has one."""

    def __init__(self, outputs: Callable[[Call], dict[str, Any]] = echo) -> None:
        self.outputs = outputs
        self.fails: Callable[[Call], bool] = lambda _call: False
        self.raises: Callable[[Call], BaseException | None] = lambda _call: None
        self.gates: dict[str | tuple[str, int | None], asyncio.Event] = {}
        self.calls: list[Call] = []
        self.in_flight: list[Call] = []
        self.peak = 0
        self._started: asyncio.Queue[Call] = asyncio.Queue()

    async def __call__(self, _node: NodeDefinition, call: Call) -> AdapterResult:
        self.calls.append(call)
        self.in_flight.append(call)
        self.peak = max(self.peak, len(self.in_flight))
        self._started.put_nowait(call)
        try:
            gate = self.gates.get((call.node, call.item)) or self.gates.get(call.node)
            if gate is not None:
                await gate.wait()
            if (error := self.raises(call)) is not None:
                raise error
            if self.fails(call):
                where = call.node if call.item is None else f"{call.node}[{call.item}]"
                raise CallFailed(f"{where} attempt {call.attempt} failed")
            return AdapterResult(
                self.outputs(call), prompt_tokens=10, completion_tokens=2, cost=0.5
            )
        finally:
            self.in_flight.remove(call)

    async def started(self) -> Call:
        """The next call to start (waiting for it)."""
        return await asyncio.wait_for(self._started.get(), PATIENCE)

    def calls_of(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.node == name]


class Recorder:
    """A `RunListener` keeping what each change looked like when it was reported."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, RunStatus, str | None]] = []
        self.calls: list[tuple[str, int, int | None, CallStatus, str | None]] = []
        self.a_call_failed = asyncio.Event()

    def node_changed(self, node: NodeState) -> None:
        self.nodes.append((node.name, node.status, node.error))

    def call_changed(self, call: Call) -> None:
        self.calls.append((call.node, call.attempt, call.item, call.status, call.error))
        if call.status is CallStatus.FAILED:
            self.a_call_failed.set()

    def statuses(self, name: str) -> list[RunStatus]:
        return [status for node, status, _ in self.nodes if node == name]

    def started(self) -> list[str]:
        """Nodes in the order they started running."""
        return [name for name, status, _ in self.nodes if status is RunStatus.RUNNING]


class Run:
    """A definition's runner with fresh states (or `states`), a fake and a recorder."""

    def __init__(
        self,
        definition: DagDefinition,
        fake: FakePrograms | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        states: Mapping[str, NodeState] | None = None,
        limits: NodeLimits = FAST,
        suspends: Callable[[str], bool] | None = None,
    ) -> None:
        self.fake = fake or FakePrograms()
        self.recorder = Recorder()
        self.states = dict(states or {})
        for position, each in enumerate(definition.nodes):
            self.states.setdefault(each.name, NodeState(each.name, position))
        extra = {} if suspends is None else {"suspends": suspends}
        self.runner = DagRunner(
            definition,
            context or {},
            self.states,
            self.fake,
            self.recorder,
            limits,
            **extra,
        )

    async def __call__(self) -> dict[str, NodeState]:
        await asyncio.wait_for(self.runner.run(), PATIENCE)
        return self.states

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.runner.run())

    def status(self) -> dict[str, RunStatus]:
        return {name: state.status for name, state in self.states.items()}

    def errors(self) -> dict[str, str | None]:
        return {name: state.error for name, state in self.states.items()}


async def finish(task: asyncio.Task[None]) -> None:
    await asyncio.wait_for(task, PATIENCE)


def diamond(**b_and_c: Any) -> DagDefinition:
    """a → (b, c) → d, each passing its `out` on."""
    return dag(
        node("a", "p", inputs={"q": "$context.q"}),
        node("b", "p", "a", inputs={"x": "$nodes.a.out"}, **b_and_c),
        node("c", "p", "a", inputs={"x": "$nodes.a.out"}, **b_and_c),
        node("d", "p", "b", "c", inputs={"left": "$nodes.b.out", "right": "$nodes.c.out"}),
    )


# -- order, concurrency, results ---------------------------------------------------------------


async def test_a_diamond_runs_in_dependency_order_with_its_branches_at_once() -> None:
    fake = FakePrograms()
    fake.gates = {"b": asyncio.Event(), "c": asyncio.Event()}
    run = Run(diamond(), fake, context={"q": "hi"})
    task = run.start()

    assert (await fake.started()).node == "a"
    branches = {(await fake.started()).node, (await fake.started()).node}
    assert branches == {"b", "c"}
    assert sorted(call.node for call in fake.in_flight) == ["b", "c"]  # both under way at once
    assert run.states["d"].status is RunStatus.PENDING
    fake.gates["b"].set()
    fake.gates["c"].set()
    await finish(task)

    assert [call.node for call in fake.calls][-1] == "d"
    assert run.recorder.started()[0] == "a"
    assert run.recorder.started()[-1] == "d"
    d = run.states["d"]
    assert d.inputs == {"left": "b(x=a(q=hi))", "right": "c(x=a(q=hi))"}
    assert d.result == {"out": "d(left=b(x=a(q=hi)),right=c(x=a(q=hi)))"}
    for state in run.states.values():
        assert state.status is RunStatus.SUCCESS
        assert state.result is not None
        assert state.error is None
        assert state.attempts == 1
        assert state.started_at is not None
        assert state.completed_at is not None
        assert state.started_at <= state.completed_at
        assert state.duration_ms is not None
        assert state.duration_ms >= 0
        assert state.execution_id == fake.calls_of(state.name)[0].id
        assert (state.cost, state.prompt_tokens, state.completion_tokens) == (0.5, 10, 2)
        statuses = run.recorder.statuses(state.name)  # RUNNING again as attempts count
        assert set(statuses[:-1]) == {RunStatus.RUNNING}
        assert statuses[-1] is RunStatus.SUCCESS
    assert [call[3] for call in run.recorder.calls].count(CallStatus.COMPLETED) == 4


async def test_no_more_calls_than_max_parallel_are_under_way() -> None:
    names = [f"n{i}" for i in range(5)]
    fake = FakePrograms()
    fake.gates = {name: asyncio.Event() for name in names}
    run = Run(dag(*(node(name, "p") for name in names)), fake, limits=NodeLimits(2, 0))
    task = run.start()

    under_way = [await fake.started(), await fake.started()]
    for _ in range(len(names) - 2):
        assert fake.in_flight == under_way  # two under way, the others waiting
        fake.gates[under_way.pop(0).node].set()  # one finishes: the next may start
        under_way.append(await fake.started())
    for call in under_way:
        fake.gates[call.node].set()
    await finish(task)

    assert fake.peak == 2
    assert sorted(call.node for call in fake.calls) == names
    assert set(run.status().values()) == {RunStatus.SUCCESS}


# -- retries and failures ----------------------------------------------------------------------


async def test_a_node_retried_enough_succeeds_on_its_third_attempt() -> None:
    fake = FakePrograms()
    fake.fails = lambda call: call.attempt <= 2
    run = Run(dag(node("a", "p", maxRetries=2)), fake)
    states = await run()

    a = states["a"]
    assert (a.status, a.attempts, a.error) == (RunStatus.SUCCESS, 3, None)
    assert a.result == {"out": "a()"}
    assert [call.attempt for call in fake.calls] == [1, 2, 3]
    assert a.execution_id == fake.calls[-1].id
    assert (a.cost, a.prompt_tokens, a.completion_tokens) == (0.5, 10, 2)  # the call that answered
    ended = [(attempt, status, error) for _, attempt, _, status, error in run.recorder.calls]
    assert [entry for entry in ended if entry[1] is not CallStatus.RUNNING] == [
        (1, CallStatus.FAILED, "a attempt 1 failed"),
        (2, CallStatus.FAILED, "a attempt 2 failed"),
        (3, CallStatus.COMPLETED, None),
    ]


async def test_a_node_out_of_retries_fails_with_its_last_error() -> None:
    fake = FakePrograms()
    fake.fails = lambda call: call.attempt <= 2
    states = await Run(dag(node("a", "p", maxRetries=1)), fake)()

    a = states["a"]
    assert (a.status, a.attempts, a.error) == (RunStatus.FAILED, 2, "a attempt 2 failed")
    assert a.result is None
    assert a.completed_at is not None
    assert [call.status for call in fake.calls] == [CallStatus.FAILED, CallStatus.FAILED]


def test_backoff_doubles_before_each_retry_up_to_its_max() -> None:
    limits = NodeLimits(backoff_seconds=0.5, backoff_max_seconds=3)
    assert [limits.backoff(retry) for retry in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert NodeLimits(backoff_seconds=0).backoff(10) == 0


async def test_a_failure_skips_everything_downstream_while_other_branches_complete() -> None:
    fake = FakePrograms()
    fake.fails = lambda call: call.node == "x"
    run = Run(
        dag(
            node("x", "p"),
            node("y", "p", "x"),
            node("z", "p", "y"),
            node("ok", "p"),
            node("w", "p", "ok", "y"),
            node("after_ok", "p", "ok"),
        ),
        fake,
    )
    await run()

    assert run.status() == {
        "x": RunStatus.FAILED,
        "y": RunStatus.SKIPPED,
        "z": RunStatus.SKIPPED,
        "ok": RunStatus.SUCCESS,
        "w": RunStatus.SKIPPED,
        "after_ok": RunStatus.SUCCESS,
    }
    assert run.errors()["x"] == "x attempt 1 failed"
    for name in ("y", "z", "w"):
        assert run.states[name].error == "upstream node 'x' failed"
        assert run.states[name].started_at is None
        assert run.states[name].completed_at is not None
    assert sorted(call.node for call in fake.calls) == ["after_ok", "ok", "x"]


async def test_a_failure_at_the_head_of_a_long_chain_skips_all_of_it() -> None:
    fake = FakePrograms()
    fake.fails = lambda call: call.node == "n0"
    chain = dag(node("n0", "p"), *(node(f"n{i}", "p", f"n{i - 1}") for i in range(1, 1000)))
    run = Run(chain, fake)
    await run()

    assert run.states["n0"].status is RunStatus.FAILED
    skipped = [state for name, state in run.states.items() if name != "n0"]
    assert {state.status for state in skipped} == {RunStatus.SKIPPED}
    assert {state.error for state in skipped} == {"upstream node 'n0' failed"}


async def test_a_call_past_its_timeout_fails() -> None:
    fake = FakePrograms()
    fake.gates = {"slow": asyncio.Event()}  # never set: the call never returns
    run = Run(dag(node("slow", "p", timeoutSeconds=0.05), node("next", "p", "slow")), fake)
    await run()

    slow = run.states["slow"]
    assert (slow.status, slow.error) == (RunStatus.FAILED, "timed out after 0.05 s")
    assert fake.calls[0].status is CallStatus.FAILED
    assert fake.calls[0].error == "timed out after 0.05 s"
    assert fake.in_flight == []  # the call was cancelled, not left waiting
    assert run.states["next"].error == "upstream node 'slow' failed"


async def test_a_timeout_error_raised_by_a_program_is_not_the_node_timing_out() -> None:
    fake = FakePrograms()
    fake.raises = lambda _call: TimeoutError("read timed out")  # an HTTP client's, say
    run = Run(dag(node("a", "p"), node("b", "p", "a"), node("timed", "p", timeoutSeconds=60)), fake)
    await run()

    for name in ("a", "timed"):
        state = run.states[name]
        assert state.status is RunStatus.FAILED
        assert state.error is not None
        assert re.fullmatch(r"Internal error \(error id [0-9a-f]{12}\)", state.error)
        assert fake.calls_of(name)[0].status is CallStatus.FAILED
    assert run.states["b"].status is RunStatus.SKIPPED


async def test_a_missing_context_value_fails_the_node_naming_the_input() -> None:
    fake = FakePrograms()
    run = Run(dag(node("a", "p", inputs={"q": "$context.question"}), node("b", "p", "a")), fake)
    await run()

    assert run.states["a"].status is RunStatus.FAILED
    assert run.states["a"].error == "input 'q': context 'question' has no value"
    assert (run.states["a"].started_at, run.states["a"].duration_ms) == (None, None)  # never ran
    assert run.states["b"].status is RunStatus.SKIPPED
    assert fake.calls == []


async def test_an_unexpected_exception_fails_the_call_with_an_error_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakePrograms()
    fake.raises = lambda call: RuntimeError("secret detail") if call.node == "a" else None
    run = Run(dag(node("a", "p"), node("other", "p")), fake)
    await run()

    a = run.states["a"]
    assert a.status is RunStatus.FAILED
    assert a.error is not None
    match = re.fullmatch(r"Internal error \(error id ([0-9a-f]{12})\)", a.error)
    assert match is not None
    assert fake.calls_of("a")[0].status is CallStatus.FAILED
    assert fake.calls_of("a")[0].error == a.error
    assert "secret detail" not in a.error
    assert match.group(1) in caplog.text  # the log holds the detail under that id
    assert run.states["other"].status is RunStatus.SUCCESS


# -- fan-out -----------------------------------------------------------------------------------


def summarize(call: Call) -> dict[str, Any]:
    return {"summary": f"short {call.inputs['passage']}", "length": len(call.inputs["passage"])}


def fanned_out(**fields: Any) -> DagDefinition:
    return dag(
        node("each", "p", inputs={"passage": "$context.passages", "style": "$context.style"},
             fanOut="passage", **fields),
        node("join", "p", "each", inputs={"summaries": "$nodes.each.summary"}),
    )  # fmt: skip


async def test_a_fanned_out_node_calls_once_per_item_and_gathers_in_item_order() -> None:
    fake = FakePrograms(lambda call: summarize(call) if call.node == "each" else echo(call))
    fake.gates = {("each", item): asyncio.Event() for item in range(3)}
    context = {"passages": ["p0", "p01", "p012"], "style": "terse"}
    run = Run(fanned_out(), fake, context=context)
    task = run.start()

    started = [await fake.started() for _ in range(3)]
    assert sorted(call.item or 0 for call in started) == [0, 1, 2]
    for item in (2, 0, 1):  # out of order
        fake.gates["each", item].set()
    await finish(task)

    each = run.states["each"]
    assert each.status is RunStatus.SUCCESS
    assert each.result == {"summary": ["short p0", "short p01", "short p012"], "length": [2, 3, 4]}
    assert each.inputs == {"passage": ["p0", "p01", "p012"], "style": "terse"}
    assert each.attempts == 1
    assert (each.cost, each.prompt_tokens, each.completion_tokens) == (1.5, 30, 6)  # every item
    assert each.execution_id is None  # one call per item: none is the node's
    for call in fake.calls_of("each"):
        assert call.inputs == {"passage": context["passages"][call.item or 0], "style": "terse"}
    assert run.states["join"].inputs == {"summaries": ["short p0", "short p01", "short p012"]}


async def test_a_fanned_out_item_failing_for_good_fails_the_node() -> None:
    fake = FakePrograms()
    # items 1 and 2 fail for good (the node names the first); item 3 only on its first attempt
    fake.fails = lambda call: call.item in (1, 2) or (call.item == 3 and call.attempt == 1)
    run = Run(fanned_out(maxRetries=1), fake, context={"passages": list("abcd"), "style": ""})
    await run()

    each = run.states["each"]
    assert (each.status, each.error) == (RunStatus.FAILED, "item 1: each[1] attempt 2 failed")
    assert sorted((call.item or 0, call.attempt, call.status) for call in fake.calls) == [
        (0, 1, CallStatus.COMPLETED),
        (1, 1, CallStatus.FAILED), (1, 2, CallStatus.FAILED),
        (2, 1, CallStatus.FAILED), (2, 2, CallStatus.FAILED),
        (3, 1, CallStatus.FAILED), (3, 2, CallStatus.COMPLETED),
    ]  # fmt: skip
    assert each.result is None
    assert each.attempts == 2
    assert run.states["join"].error == "upstream node 'each' failed"


async def test_a_fanned_out_node_given_no_list_fails_without_calling() -> None:
    fake = FakePrograms()
    run = Run(fanned_out(), fake, context={"passages": "not a list", "style": ""})
    await run()

    assert run.states["each"].status is RunStatus.FAILED
    assert run.states["each"].error == "fanOut input 'passage' is not a list"
    assert fake.calls == []


async def test_a_node_fanned_out_over_no_items_runs_and_succeeds_without_calling() -> None:
    fake = FakePrograms()
    definition = dag(node("each", "p", inputs={"passage": "$context.passages"}, fanOut="passage"))
    run = Run(definition, fake, context={"passages": []})
    await run()

    each = run.states["each"]
    assert (each.status, each.result, each.attempts) == (RunStatus.SUCCESS, {}, 0)
    assert each.started_at is not None
    assert each.duration_ms is not None
    assert run.recorder.statuses("each") == [RunStatus.RUNNING, RunStatus.SUCCESS]
    assert fake.calls == []


# -- transforms, reuse -------------------------------------------------------------------------


async def test_transform_nodes_reshape_outputs_between_programs() -> None:
    def outputs(call: Call) -> dict[str, Any]:
        if call.node == "ask":
            return {"answer": "42", "score": 0.9}
        if call.node == "other":
            return {"out": "other"}
        return {"seen": dict(call.inputs)}

    fake = FakePrograms(outputs)
    definition = dag(
        node("ask", "p"),
        node("other", "p"),
        node("pick", None, "ask", kind="TRANSFORM",
             inputs={"answer": "$nodes.ask.answer", "score": "$nodes.ask.score"},
             transform={"op": "pick", "fields": ["answer"]}),
        node("rename", None, "pick", kind="TRANSFORM", inputs={"answer": "$nodes.pick.answer"},
             transform={"op": "rename", "renames": {"answer": "text"}}),
        node("merge", None, "rename", "other", kind="TRANSFORM",
             inputs={"first": "$nodes.rename.text", "second": "$nodes.other.out"},
             transform={"op": "merge", "into": "all"}),
        node("use", "p", "merge", inputs={"items": "$nodes.merge.all"}),
    )  # fmt: skip
    run = Run(definition, fake)
    await run()

    assert set(run.status().values()) == {RunStatus.SUCCESS}
    assert run.states["pick"].result == {"answer": "42"}
    assert run.states["rename"].result == {"text": "42"}
    assert run.states["merge"].result == {"all": ["42", "other"]}
    assert run.states["use"].result == {"seen": {"items": ["42", "other"]}}
    assert sorted(call.node for call in fake.calls) == ["ask", "other", "use"]
    assert run.states["merge"].attempts == 0  # no program, no attempt
    assert run.states["merge"].duration_ms is not None


async def test_nodes_already_successful_are_not_run_again_and_feed_downstream() -> None:
    done = NodeState("a", 0, status=RunStatus.SUCCESS, attempts=1, result={"out": "earlier"})
    resumed = NodeState("b", 1, attempts=2)  # a resumed node: its attempts go on counting
    run = Run(
        dag(node("a", "p"), node("b", "p", "a", inputs={"x": "$nodes.a.out"}), node("c", "p")),
        states={"a": done, "b": resumed},
    )
    await run()

    assert [call.node for call in run.fake.calls if call.node != "c"] == ["b"]
    assert run.states["a"] is done
    assert done.result == {"out": "earlier"}
    assert run.recorder.statuses("a") == []
    b = run.states["b"]
    assert (b.status, b.result) == (RunStatus.SUCCESS, {"out": "b(x=earlier)"})
    assert (b.attempts, run.fake.calls_of("b")[0].attempt) == (3, 3)


async def test_a_run_with_every_node_successful_calls_nothing() -> None:
    done = NodeState("a", 0, status=RunStatus.SUCCESS, result={"out": "x"})
    run = Run(dag(node("a", "p")), states={"a": done})
    await run()
    assert run.fake.calls == []
    assert run.recorder.nodes == []


# -- cancellation ------------------------------------------------------------------------------


async def cancelled_in_the_middle(run: Run, reason: str) -> None:
    """Start the diamond, cancel it with `reason` once b and c are under way."""
    run.fake.gates = {"b": asyncio.Event(), "c": asyncio.Event()}
    task = run.start()
    started = [(await run.fake.started()).node for _ in range(3)]
    assert started[0] == "a"
    assert sorted(call.node for call in run.fake.in_flight) == ["b", "c"]
    task.cancel(reason)
    with pytest.raises(asyncio.CancelledError):
        await finish(task)


async def test_cancelling_a_run_cancels_its_calls_and_skips_what_had_not_started() -> None:
    run = Run(diamond(), context={"q": "hi"})
    await cancelled_in_the_middle(run, "cancelled by alice")

    assert run.status() == {
        "a": RunStatus.SUCCESS,
        "b": RunStatus.CANCELLED,
        "c": RunStatus.CANCELLED,
        "d": RunStatus.SKIPPED,
    }
    for name in ("b", "c", "d"):
        assert run.states[name].error == "cancelled by alice"
        assert run.states[name].completed_at is not None
    assert run.fake.in_flight == []
    for name in ("b", "c"):
        (call,) = run.fake.calls_of(name)
        assert (call.status, call.error) == (CallStatus.CANCELLED, "cancelled by alice")
        assert call.completed_at is not None
    assert run.fake.calls_of("d") == []


async def test_cancelling_a_suspending_run_leaves_every_unfinished_node_pending() -> None:
    reasons: list[str] = []

    def suspends(reason: str) -> bool:
        reasons.append(reason)
        return True

    run = Run(diamond(), context={"q": "hi"}, suspends=suspends)
    await cancelled_in_the_middle(run, "shutting down")

    assert set(reasons) == {"shutting down"}
    assert run.status() == {
        "a": RunStatus.SUCCESS,
        "b": RunStatus.PENDING,
        "c": RunStatus.PENDING,
        "d": RunStatus.PENDING,
    }
    for name in ("b", "c"):
        state = run.states[name]
        assert (state.error, state.started_at, state.inputs, state.execution_id) == (
            None, None, None, None,
        )  # fmt: skip
        assert state.attempts == 1  # counted on when the run resumes
        assert run.recorder.statuses(name)[-1] is RunStatus.PENDING
        (call,) = run.fake.calls_of(name)
        assert call.status is CallStatus.CANCELLED
    recorded = {status for _, status, _ in run.recorder.nodes}
    assert RunStatus.SKIPPED not in recorded
    assert RunStatus.CANCELLED not in recorded


async def test_cancelling_a_run_waiting_to_retry_cancels_the_node() -> None:
    fake = FakePrograms()
    fake.fails = lambda _call: True
    run = Run(dag(node("a", "p", maxRetries=3)), fake, limits=NodeLimits(backoff_seconds=60))
    task = run.start()
    await asyncio.wait_for(run.recorder.a_call_failed.wait(), PATIENCE)  # then 60 s to retry
    task.cancel("stop")
    with pytest.raises(asyncio.CancelledError):
        await finish(task)

    assert (run.states["a"].status, run.states["a"].error) == (RunStatus.CANCELLED, "stop")
    assert len(fake.calls) == 1
