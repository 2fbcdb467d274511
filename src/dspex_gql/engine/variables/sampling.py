"""Configurations sampled from a space; every one is complete and valid.

RANDOM draws each active variable independently (log-uniform on log ranges); LATIN_HYPERCUBE
and SOBOL draw a point in the unit cube, one coordinate per variable, then drop inactive ones;
GRID walks `iterate_grid` in order. With a seed the list is reproducible.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from enum import StrEnum
from itertools import islice
from typing import Any

import numpy as np
from scipy.stats import qmc

from dspex_gql.engine.variables.configurations import complete, is_active, ordered
from dspex_gql.engine.variables.domains import grid_count, grid_value, snap
from dspex_gql.engine.variables.model import Choices, FloatRange, IntRange, SearchSpace, Variable

DEFAULT_GRID_POINTS = 5


class SamplingStrategy(StrEnum):
    RANDOM = "RANDOM"
    GRID = "GRID"
    LATIN_HYPERCUBE = "LATIN_HYPERCUBE"
    SOBOL = "SOBOL"


def generate(
    space: SearchSpace, strategy: SamplingStrategy, count: int, seed: int | None = None
) -> list[dict[str, Any]]:
    """`count` configurations (fewer for a GRID that runs out); GRID ignores the seed."""
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return []
    if strategy == SamplingStrategy.GRID:
        return list(islice(iterate_grid(space), count))
    if strategy == SamplingStrategy.RANDOM:
        return _random(space, count, seed)
    rows = _unit_rows(strategy, len(space.variables), count, seed)
    return [
        complete(
            space, {v.name: from_unit(v, u) for v, u in zip(space.variables, row, strict=True)}
        )
        for row in rows
    ]


def from_unit(variable: Variable, unit: float) -> Any:
    """The value at `unit` in [0, 1) along the domain, e.g. 0.5 on FloatRange(1, 100, log=True)
    is 10; categorical and stepped domains split [0, 1) into equal cells."""
    domain = variable.domain
    if isinstance(domain, Choices):
        return domain.values[min(len(domain.values) - 1, int(unit * len(domain.values)))]
    count = grid_count(domain)
    if domain.log:
        upper = domain.max + 1 if isinstance(domain, IntRange) else domain.max
        value = math.exp(math.log(domain.min) + unit * (math.log(upper) - math.log(domain.min)))
        return snap(domain, math.floor(value) if isinstance(domain, IntRange) else value)
    if count is not None:
        return grid_value(domain, min(count - 1, int(unit * count)))
    return snap(domain, domain.min * (1 - unit) + domain.max * unit)


def iterate_grid(space: SearchSpace, points: int = DEFAULT_GRID_POINTS) -> Iterator[dict[str, Any]]:
    """Every combination of grid values, lazily, in `ordered` order with the last varying
    fastest; an inactive variable is left out rather than multiplied, so none repeats."""
    order = ordered(space)
    values = {variable.name: grid_values(variable, points) for variable in order}

    def walk(index: int, partial: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if index == len(order):
            yield dict(partial)
            return
        name = order[index].name
        if not is_active(space, name, partial):
            yield from walk(index + 1, partial)
            return
        for value in values[name]:
            partial[name] = value
            yield from walk(index + 1, partial)
        del partial[name]

    return walk(0, {})


def grid_size(space: SearchSpace, points: int = DEFAULT_GRID_POINTS) -> int:
    """An upper bound on `iterate_grid`'s length: exact without dependencies."""
    return math.prod(len(grid_values(variable, points)) for variable in space.variables)


def grid_values(variable: Variable, points: int = DEFAULT_GRID_POINTS) -> list[Any]:
    """All values when there are at most `points`, else `points` spread evenly (geometrically
    on log ranges) including both ends; categorical domains always give every value."""
    if points < 2:
        raise ValueError("a grid needs at least 2 points per variable")
    domain = variable.domain
    if isinstance(domain, Choices):
        return list(domain.values)
    count = grid_count(domain)
    if count is not None and count <= points:
        return [grid_value(domain, index) for index in range(count)]
    if count is not None and not domain.log:
        return [grid_value(domain, i * (count - 1) // (points - 1)) for i in range(points)]
    return list(dict.fromkeys(_spread(domain, i / (points - 1)) for i in range(points)))


def _spread(domain: FloatRange | IntRange, fraction: float) -> float | int:
    if fraction in (0.0, 1.0):
        return snap(domain, domain.max if fraction else domain.min)
    if not domain.log:
        return snap(domain, domain.min * (1 - fraction) + domain.max * fraction)
    low, high = math.log(domain.min), math.log(domain.max)
    return snap(domain, math.exp(low + fraction * (high - low)))


def _random(space: SearchSpace, count: int, seed: int | None) -> list[dict[str, Any]]:
    generator = np.random.default_rng(seed)
    order = ordered(space)
    configurations = []
    for _ in range(count):
        configuration: dict[str, Any] = {}
        for variable in order:
            if is_active(space, variable.name, configuration):
                configuration[variable.name] = from_unit(variable, float(generator.random()))
        configurations.append(configuration)
    return configurations


def _unit_rows(
    strategy: SamplingStrategy, dimensions: int, count: int, seed: int | None
) -> list[list[float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Sobol's balance needs a power of two
        engine: qmc.QMCEngine = (
            qmc.Sobol(dimensions, scramble=True, seed=seed)
            if strategy == SamplingStrategy.SOBOL
            else qmc.LatinHypercube(dimensions, seed=seed)
        )
        rows: list[list[float]] = engine.random(count).tolist()
    return rows
