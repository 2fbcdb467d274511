"""Which variables matter: the importance of each variable for the score.

    variable_importance(space, [({"temperature": 0.2, "retriever": "bm25"}, 0.71), ...])
    # {"temperature": 0.83, "retriever": 0.17}

fANOVA (seeded) when scikit-learn is installed, else (or when fANOVA fails) PED-ANOVA, Optuna's
default. fANOVA assesses only the variables active in every trial (the others get 0); PED-ANOVA
also assesses conditional ones. Every variable of the space is present, sorted by importance
(descending, ties in space order); importances sum to 1, except that with fewer than 2 trials,
no variation in the scores, or no assessable variable, all are 0. Optuna is imported on first
use.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dspex_gql.engine.variables.model import SearchSpace

logger = logging.getLogger(__name__)

Trial = tuple[Mapping[str, Any], float]


def variable_importance(
    space: SearchSpace, trials: Sequence[Trial], *, seed: int = 0
) -> dict[str, float]:
    finite = [(configuration, score) for configuration, score in trials if math.isfinite(score)]
    scores = {score for _, score in finite}
    computed = _importances(space, finite, seed) if len(finite) >= 2 and len(scores) > 1 else {}
    total = sum(computed.values())
    normalized = {name: value / total for name, value in computed.items()} if total > 0 else {}
    position = {name: index for index, name in enumerate(space.names)}
    return dict(
        sorted(
            ((name, normalized.get(name, 0.0)) for name in space.names),
            key=lambda item: (-item[1], position[item[0]]),
        )
    )


def fanova_available() -> bool:
    """Optuna's fANOVA needs scikit-learn, which is optional."""
    return importlib.util.find_spec("sklearn") is not None


def _importances(space: SearchSpace, trials: Sequence[Trial], seed: int) -> dict[str, float]:
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    from dspex_gql.engine.optimization.optuna_space import frozen_trial

    study = optuna.create_study(direction="maximize")
    study.add_trials(
        [frozen_trial(space, configuration, [score]) for configuration, score in trials]
    )
    evaluators: list[Callable[[], Any]] = [PedAnovaImportanceEvaluator]
    if fanova_available():
        evaluators.insert(0, lambda: FanovaImportanceEvaluator(seed=seed))
    for evaluator in evaluators:
        try:
            importances = optuna.importance.get_param_importances(study, evaluator=evaluator())
        except Exception as error:
            logger.warning("Variable importance evaluator failed: %s", error)
            continue
        return {name: max(0.0, float(value)) for name, value in importances.items()}
    return {}
