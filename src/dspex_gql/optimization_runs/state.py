"""What a run knows from its evaluations: best so far, Pareto frontier, convergence, totals.

Rebuilt from stored evaluations when a run resumes, so a resumed run reports what an uninterrupted
one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dspex_gql.engine.optimization import (
    ConvergenceTracker,
    Objective,
    ParetoFrontier,
)
from dspex_gql.optimization_runs.models import Evaluation

OBJECTIVE_COLUMNS = {"SCORE": "score", "COST": "cost", "LATENCY": "latency_ms"}


def objective_values(
    evaluation: Evaluation, objectives: Sequence[Objective]
) -> tuple[float, ...] | None:
    """The evaluation's value for each objective, in order; None when it failed."""
    values = [getattr(evaluation, OBJECTIVE_COLUMNS[o.name]) for o in objectives]
    if evaluation.status != "COMPLETED" or any(value is None for value in values):
        return None
    return tuple(float(value) for value in values)


@dataclass
class RunState:
    objectives: tuple[Objective, ...]
    tracker: ConvergenceTracker
    frontier: ParetoFrontier[dict[str, Any]]
    iterations: int = 0
    failures: int = 0
    total_cost: float = 0.0
    best: Evaluation | None = None

    @classmethod
    def start(cls, objectives: Sequence[Objective], patience: int | None) -> RunState:
        directions = [objective.direction for objective in objectives]
        frontier: ParetoFrontier[dict[str, Any]] = ParetoFrontier(directions, distinct=True)
        return cls(tuple(objectives), ConvergenceTracker(patience), frontier)

    def add(self, evaluation: Evaluation) -> None:
        self.iterations = max(self.iterations, evaluation.iteration + 1)
        self.total_cost += evaluation.cost
        self.tracker.record(evaluation.score)
        values = objective_values(evaluation, self.objectives)
        if values is None:
            self.failures += 1
            return
        if self._beats_best(evaluation):
            self.best = evaluation
        point = {
            "evaluationId": str(evaluation.id),
            "configuration": evaluation.configuration,
            "objectives": {o.name: value for o, value in zip(self.objectives, values, strict=True)},
        }
        self.frontier.add(point, values)

    def _beats_best(self, evaluation: Evaluation) -> bool:
        """A higher score; but a score on every example beats any mini-batch score, whose
        batches differ (a SIMBA run ends with its incumbent scored on every example)."""
        best = self.best
        if best is None:
            return True
        on_all, best_on_all = evaluation.examples is None, best.examples is None
        if on_all != best_on_all:
            return on_all
        return (evaluation.score or 0.0) > (best.score or 0.0)

    def snapshot(self) -> dict[str, Any]:
        """The run's columns that follow from its evaluations."""
        best = self.best
        return {
            "iterations_completed": self.iterations,
            "total_cost": self.total_cost,
            "best_score": None if best is None else best.score,
            "best_configuration": None if best is None else best.configuration,
            "best_program_state": None if best is None else best.program_state,
            "convergence_score": self.tracker.score,
            "convergence_status": self.tracker.status,
            "pareto_frontier": list(self.frontier.points),
        }
