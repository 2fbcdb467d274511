"""What a run's nodes add up to, kept as they change (never recounted): the run's columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dspex_gql.engine.dags.states import Call, CallStatus, NodeState, RunStatus


@dataclass
class RunTotals:
    total_nodes: int
    cost: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finished_nodes: int = 0
    succeeded_nodes: int = 0
    failed_nodes: int = 0
    ran_nodes: int = 0
    node_duration_ms: int = 0
    _counted: dict[str, tuple[RunStatus, int | None]] = field(default_factory=dict)
    """Finished nodes, with what they added: their status and duration."""

    @classmethod
    def of(cls, nodes: Iterable[NodeState]) -> RunTotals:
        states = list(nodes)
        totals = cls(total_nodes=len(states))
        for node in states:
            totals.node_changed(node)
            if node.status.is_terminal and node.reused_from_id is None:
                totals.cost += node.cost
                totals.prompt_tokens += node.prompt_tokens
                totals.completion_tokens += node.completion_tokens
        return totals

    def node_changed(self, node: NodeState) -> None:
        if node.status.is_terminal:
            if node.name not in self._counted:
                self._counted[node.name] = (node.status, node.duration_ms)
                self._count(node.status, node.duration_ms, 1)
        elif (counted := self._counted.pop(node.name, None)) is not None:
            self._count(*counted, -1)  # reset to run again (a suspended run)

    def _count(self, status: RunStatus, duration_ms: int | None, sign: int) -> None:
        self.finished_nodes += sign
        self.succeeded_nodes += sign * (status is RunStatus.SUCCESS)
        self.failed_nodes += sign * (status is RunStatus.FAILED)
        if duration_ms is not None and status is not RunStatus.SKIPPED:
            self.ran_nodes += sign
            self.node_duration_ms += sign * duration_ms

    def call_changed(self, call: Call) -> None:
        if call.status is CallStatus.COMPLETED and call.result is not None:
            self.cost += call.result.cost
            self.prompt_tokens += call.result.prompt_tokens
            self.completion_tokens += call.result.completion_tokens

    def columns(self) -> dict[str, Any]:
        return {
            "total_nodes": self.total_nodes,
            "finished_nodes": self.finished_nodes,
            "succeeded_nodes": self.succeeded_nodes,
            "failed_nodes": self.failed_nodes,
            "ran_nodes": self.ran_nodes,
            "node_duration_ms": self.node_duration_ms,
            "cost": self.cost,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
