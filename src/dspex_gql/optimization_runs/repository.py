from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select

from dspex_gql import policies
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import RunRepository, TenantRepository
from dspex_gql.optimization_runs.models import (
    TERMINAL,
    Evaluation,
    OptimizationRun,
    OptimizationStatus,
)
from dspex_gql.programs.models import Program

UNFINISHED = (OptimizationStatus.PENDING, OptimizationStatus.RUNNING)


@dataclass(frozen=True)
class OptimizationStats:
    optimization_count: int = 0
    best_score: float | None = None
    average_score: float | None = None


class OptimizationRunRepository(RunRepository[OptimizationRun]):
    model = OptimizationRun
    terminal = TERMINAL
    resource = "OptimizationRun"
    listing = Listing(
        fields={
            "name": OptimizationRun.name,
            "status": OptimizationRun.status,
            "strategy": OptimizationRun.strategy,
            "program_id": OptimizationRun.program_id,
            "variable_space_id": OptimizationRun.variable_space_id,
            "best_score": OptimizationRun.best_score,
            "created_at": OptimizationRun.created_at,
            "completed_at": OptimizationRun.completed_at,
        },
        id=OptimizationRun.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    def _visible(self) -> ColumnElement[bool] | None:
        return policies.readable_through(self.reader, OptimizationRun.program_id, Program)

    async def over_space(self, space_id: UUID, limit: int = 100) -> list[OptimizationRun]:
        query = (
            self._select()
            .where(OptimizationRun.variable_space_id == space_id)
            .order_by(OptimizationRun.created_at.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def stats(self, program_ids: Iterable[UUID]) -> dict[UUID, OptimizationStats]:
        query = (
            self._select()
            .with_only_columns(
                OptimizationRun.program_id,
                func.count(),
                func.max(OptimizationRun.best_score),
                func.avg(OptimizationRun.best_score),
            )
            .where(OptimizationRun.program_id.in_(set(program_ids)))
            .group_by(OptimizationRun.program_id)
        )
        return {
            row[0]: OptimizationStats(row[1], _float(row[2]), _float(row[3]))
            for row in await self.session.execute(query)
        }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class EvaluationRepository(TenantRepository[Evaluation]):
    model = Evaluation
    resource = "Evaluation"
    listing = Listing(
        fields={
            "optimization_run_id": Evaluation.optimization_run_id,
            "iteration": Evaluation.iteration,
            "score": Evaluation.score,
            "created_at": Evaluation.created_at,
        },
        id=Evaluation.id,
        default_order=(SortKey("iteration"),),
    )

    def _visible(self) -> ColumnElement[bool] | None:
        runs = policies.readable_through(self.reader, OptimizationRun.program_id, Program)
        if runs is None:
            return None
        visible: ColumnElement[bool] = Evaluation.optimization_run_id.in_(
            select(OptimizationRun.id).where(runs).scalar_subquery()
        )
        return visible

    async def of_runs(self, run_ids: Sequence[UUID]) -> list[Evaluation]:
        query = (
            self._select()
            .where(Evaluation.optimization_run_id.in_(set(run_ids)))
            .order_by(Evaluation.optimization_run_id, Evaluation.iteration)
        )
        return list(await self.session.scalars(query))

    async def of_run_after(self, run_id: UUID, iteration: int) -> list[Evaluation]:
        """The run's evaluations of later iterations than `iteration`, in order."""
        query = (
            self._select()
            .where(Evaluation.optimization_run_id == run_id, Evaluation.iteration > iteration)
            .order_by(Evaluation.iteration)
        )
        return list(await self.session.scalars(query))

    async def counts(self, run_ids: Iterable[UUID]) -> dict[UUID, tuple[int, float | None]]:
        """Per run: evaluations stored and their average score."""
        query = (
            select(Evaluation.optimization_run_id, func.count(), func.avg(Evaluation.score))
            .where(Evaluation.organization_id == self.organization_id)
            .where(Evaluation.optimization_run_id.in_(set(run_ids)))
            .group_by(Evaluation.optimization_run_id)
        )
        return {row[0]: (row[1], _float(row[2])) for row in await self.session.execute(query)}
