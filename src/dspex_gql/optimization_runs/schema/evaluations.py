from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from dspex_gql.graphql.filters import Order
from dspex_gql.optimization_runs import models


@strawberry.type
class Evaluation:
    id: strawberry.ID
    iteration: int
    configuration: JSON
    score: float | None
    cost: float
    latency_ms: float | None
    metrics: JSON
    status: str
    examples: list[int] | None = strawberry.field(
        description="Indices of the training examples evaluated (a SIMBA mini-batch); null: all."
    )
    example_scores: list[float]
    program_state: JSON | None = strawberry.field(
        description="The compiled DSPy program state scored (DSPy optimizers only)."
    )
    created_at: datetime

    @classmethod
    def of(cls, evaluation: models.Evaluation) -> Evaluation:
        return cls(
            id=strawberry.ID(str(evaluation.id)),
            iteration=evaluation.iteration,
            configuration=JSON(evaluation.configuration),
            score=evaluation.score,
            cost=evaluation.cost,
            latency_ms=evaluation.latency_ms,
            metrics=JSON(evaluation.metrics),
            status=evaluation.status,
            examples=evaluation.examples,
            example_scores=evaluation.example_scores,
            program_state=JSON(evaluation.program_state),
            created_at=evaluation.created_at,
        )


@strawberry.enum
class EvaluationOrderField(enum.Enum):
    ITERATION = "ITERATION"
    SCORE = "SCORE"
    CREATED_AT = "CREATED_AT"


@strawberry.input(name="EvaluationOrder")
class EvaluationOrder(Order[EvaluationOrderField]):
    pass
