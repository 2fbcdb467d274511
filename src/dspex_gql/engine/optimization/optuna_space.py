"""A variable space seen by Optuna: one distribution per variable, suggestions, stored trials.

Choices (CHOICE, MODULE, BOOLEAN) are categorical over their *indices*, so `1` and `True` stay
apart and non-scalar choices (lists, objects) work; parameters hold indices, configurations
hold the values. Optuna forbids log scale together with a step, so a stepped log range is
searched on its (linear) step grid. Importing this module imports Optuna (≈0.5 s) and quiets
its logging.
"""

from __future__ import annotations

import copy
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from dspex_gql.engine.variables.configurations import is_active, ordered
from dspex_gql.engine.variables.domains import check_value, value_key
from dspex_gql.engine.variables.model import Choices, FloatRange, SearchSpace, Variable

optuna.logging.set_verbosity(optuna.logging.WARNING)


def distribution(variable: Variable) -> BaseDistribution:
    domain = variable.domain
    if isinstance(domain, Choices):
        return CategoricalDistribution(tuple(range(len(domain.values))))
    if isinstance(domain, FloatRange):
        if domain.step is None:
            return FloatDistribution(domain.min, domain.max, log=domain.log)
        high = _stepped_high(domain.min, domain.max, domain.step)
        return FloatDistribution(domain.min, high, step=domain.step)
    high_int = domain.min + (domain.max - domain.min) // domain.step * domain.step
    logarithmic = domain.log and domain.step == 1
    return IntDistribution(domain.min, high_int, log=logarithmic, step=domain.step)


def suggest_configuration(space: SearchSpace, trial: optuna.Trial) -> dict[str, Any]:
    """Suggest the active variables, parents first, and return them as a configuration."""
    configuration: dict[str, Any] = {}
    for variable in ordered(space):
        if is_active(space, variable.name, configuration):
            configuration[variable.name] = suggest(trial, variable)
    return configuration


def suggest(trial: optuna.Trial, variable: Variable) -> Any:
    name, domain, shape = variable.name, variable.domain, distribution(variable)
    if isinstance(shape, CategoricalDistribution) and isinstance(domain, Choices):
        index = trial.suggest_categorical(name, shape.choices)
        return copy.deepcopy(domain.values[int(index)])  # type: ignore[arg-type]
    if isinstance(shape, FloatDistribution):
        return float(
            trial.suggest_float(name, shape.low, shape.high, step=shape.step, log=shape.log)
        )
    if isinstance(shape, IntDistribution):
        return int(trial.suggest_int(name, shape.low, shape.high, step=shape.step, log=shape.log))
    raise TypeError(f"unexpected distribution {shape!r}")


def parameters(
    space: SearchSpace, configuration: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
    """Optuna params and distributions of a configuration's variables; values no longer in the
    space (e.g. a choice since removed) are left out."""
    params: dict[str, Any] = {}
    distributions: dict[str, BaseDistribution] = {}
    for variable in ordered(space):
        name = variable.name
        if name not in configuration:
            continue
        param = _parameter(variable, configuration[name])
        if param is not None:
            params[name], distributions[name] = param, distribution(variable)
    return params, distributions


def frozen_trial(
    space: SearchSpace,
    configuration: Mapping[str, Any],
    values: Sequence[float] | None,
    system_attrs: Mapping[str, Any] | None = None,
) -> FrozenTrial:
    """A finished trial to add to a study: complete with `values`, or failed when None."""
    params, distributions = parameters(space, configuration)
    return optuna.trial.create_trial(
        state=TrialState.FAIL if values is None else TrialState.COMPLETE,
        values=None if values is None else list(values),
        params=params,
        distributions=distributions,
        system_attrs=dict(system_attrs or {}),
    )


def _parameter(variable: Variable, value: Any) -> Any:
    domain = variable.domain
    if isinstance(domain, Choices):
        key = value_key(value)
        return next((i for i, v in enumerate(domain.values) if value_key(v) == key), None)
    if check_value(variable, value) is not None:
        return None
    shape = distribution(variable)
    assert isinstance(shape, FloatDistribution | IntDistribution)
    return value if value <= shape.high else None


def _stepped_high(low: float, high: float, step: float) -> float:
    """The last grid point, computed as Optuna does so that it does not warn and adjust."""
    d_low, d_step = decimal.Decimal(str(low)), decimal.Decimal(str(step))
    d_range = decimal.Decimal(str(high)) - d_low
    return float((d_range // d_step) * d_step + d_low)
