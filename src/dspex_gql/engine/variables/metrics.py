"""How large and hard a variable space is.

    discrete_space_size  = product of the discrete variables' cardinalities (1 when none):
                           INTEGER and stepped FLOAT their grid size, CHOICE/MODULE their count,
                           BOOLEAN 2; capped at the largest float, never inf
    continuous_dimensions = FLOAT variables without a step
    complexity_score     = log10(exact discrete size) + 2 * continuous_dimensions
                           + 0.5 * dependency count, rounded to 3 places
    difficulty           = EASY below 3, MEDIUM below 8, HARD below 15, else EXTREME

E.g. a CHOICE of 10, an INTEGER 1..100 and one continuous FLOAT: size 1000, score 3 + 2 = 5,
MEDIUM.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from enum import StrEnum

from dspex_gql.engine.variables.domains import cardinality
from dspex_gql.engine.variables.model import SearchSpace


class Difficulty(StrEnum):
    EASY = "EASY"
    MEDIUM = "MEDIUM"
    HARD = "HARD"
    EXTREME = "EXTREME"


DIFFICULTY_THRESHOLDS = ((3.0, Difficulty.EASY), (8.0, Difficulty.MEDIUM), (15.0, Difficulty.HARD))


@dataclass(frozen=True)
class SpaceMetrics:
    variable_count: int
    discrete_space_size: float
    continuous_dimensions: int
    dependency_count: int
    complexity_score: float
    difficulty: Difficulty


def measure(space: SearchSpace) -> SpaceMetrics:
    counts = [cardinality(variable) for variable in space.variables]
    exact = math.prod(count for count in counts if count is not None)
    continuous = sum(1 for count in counts if count is None)
    score = round(math.log10(exact) + 2 * continuous + 0.5 * len(space.dependencies), 3)
    return SpaceMetrics(
        variable_count=len(space.variables),
        discrete_space_size=_capped_float(exact),
        continuous_dimensions=continuous,
        dependency_count=len(space.dependencies),
        complexity_score=score,
        difficulty=difficulty(score),
    )


def difficulty(score: float) -> Difficulty:
    return next(
        (level for limit, level in DIFFICULTY_THRESHOLDS if score < limit), Difficulty.EXTREME
    )


def _capped_float(value: int) -> float:
    return sys.float_info.max if value > int(sys.float_info.max) else float(value)
