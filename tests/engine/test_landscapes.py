from __future__ import annotations

import math
import re
from typing import Any

import pytest

from dspex_gql.engine.landscapes import (
    BRANIN_DOMAIN,
    BRANIN_MINIMUM,
    HARTMANN6_DOMAIN,
    HARTMANN6_MINIMUM,
    BraninLandscape,
    DistanceLandscape,
    Hartmann6Landscape,
    branin,
    hartmann6,
    parse_landscape,
)

HARTMANN6_ARGMIN = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
X = [f"x{i}" for i in range(1, 7)]

# -- test functions -----------------------------------------------------------------------------


@pytest.mark.parametrize("point", [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)])
def test_branin_minima(point: tuple[float, float]) -> None:
    assert branin(*point) == pytest.approx(BRANIN_MINIMUM, abs=1e-4)


def test_branin_at_hand_checked_points() -> None:
    t = 1 / (8 * math.pi)
    # At (0, 0): (0 - 0 + 0 - 6)² + 10(1 - t)·cos 0 + 10.
    assert branin(0, 0) == pytest.approx(36 + 10 * (1 - t) + 10)
    # At (-5, 0): the square is (-25·5.1/(4π²) - 25/π - 6)², cos(-5) as is.
    square = (-25 * 5.1 / (4 * math.pi**2) - 25 / math.pi - 6) ** 2
    assert branin(-5, 0) == pytest.approx(square + 10 * (1 - t) * math.cos(-5) + 10)
    assert branin(-5, 0) == pytest.approx(308.129096, abs=1e-4)


def test_hartmann6_minimum() -> None:
    assert hartmann6(HARTMANN6_ARGMIN) == pytest.approx(HARTMANN6_MINIMUM, abs=1e-4)


def test_hartmann6_at_hand_checked_points() -> None:
    alpha = (1.0, 1.2, 3.0, 3.2)
    a_p_squared = (  # Σⱼ Aᵢⱼ·Pᵢⱼ² at the origin, row by row
        10 * 0.1312**2 + 3 * 0.1696**2 + 17 * 0.5569**2
        + 3.5 * 0.0124**2 + 1.7 * 0.8283**2 + 8 * 0.5886**2,
        0.05 * 0.2329**2 + 10 * 0.4135**2 + 17 * 0.8307**2
        + 0.1 * 0.3736**2 + 8 * 0.1004**2 + 14 * 0.9991**2,
        3 * 0.2348**2 + 3.5 * 0.1451**2 + 1.7 * 0.3522**2
        + 10 * 0.2883**2 + 17 * 0.3047**2 + 8 * 0.6650**2,
        17 * 0.4047**2 + 8 * 0.8828**2 + 0.05 * 0.8732**2
        + 10 * 0.5743**2 + 0.1 * 0.1091**2 + 14 * 0.0381**2,
    )  # fmt: skip
    origin = -sum(a * math.exp(-s) for a, s in zip(alpha, a_p_squared, strict=True))

    assert hartmann6([0.0] * 6) == pytest.approx(origin)
    assert hartmann6([0.5] * 6) == pytest.approx(-0.505315, abs=1e-4)
    assert all(hartmann6([v] * 6) > HARTMANN6_MINIMUM for v in (0.0, 0.25, 0.5, 0.75, 1.0))


def test_hartmann6_needs_six_coordinates() -> None:
    with pytest.raises(ValueError, match="6 coordinates, not 5"):
        hartmann6([0.5] * 5)


def test_domains() -> None:
    assert BRANIN_DOMAIN == {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
    assert {f"x{i}": (0.0, 1.0) for i in range(1, 7)} == HARTMANN6_DOMAIN


# -- distance -----------------------------------------------------------------------------------

DISTANCE = {
    "kind": "distance",
    "optimum": {"temperature": 0.7, "model": "gpt-4", "n": 3},
    "scale": {"n": 2},
    "width": 0.5,
}
OPTIMUM = {"temperature": 0.7, "model": "gpt-4", "n": 3}


def test_distance_is_one_at_the_optimum_and_falls_with_distance() -> None:
    landscape = parse_landscape(DISTANCE)

    assert isinstance(landscape, DistanceLandscape)
    assert landscape.probability(OPTIMUM) == 1.0
    assert landscape.objective(OPTIMUM) == 0.0
    ps = [landscape.probability({**OPTIMUM, "temperature": 0.7 + step / 10}) for step in range(11)]
    assert ps == sorted(ps, reverse=True)
    assert len(set(ps)) == len(ps)
    assert all(0 <= p <= 1 for p in ps)


def test_distance_formula() -> None:
    landscape = parse_landscape(DISTANCE)
    configuration = {"temperature": 1.2, "model": "gpt-3.5", "n": 4, "other": "ignored"}

    d_squared = 0.5**2 + 1 + (1 / 2) ** 2
    assert landscape.objective(configuration) == pytest.approx(math.sqrt(d_squared))
    assert landscape.probability(configuration) == pytest.approx(math.exp(-d_squared / 0.5))


@pytest.mark.parametrize(
    ("changes", "d_squared"),
    [
        ({"model": None}, 1.0),  # missing
        ({"n": True}, 1.0),  # a bool is not a number
        ({"n": "3"}, 1.0),
        ({"temperature": -0.3}, 1.0),
    ],
)
def test_distance_of_each_kind_of_value(changes: dict[str, Any], d_squared: float) -> None:
    landscape = parse_landscape({**DISTANCE, "scale": {}})
    configuration = {**OPTIMUM, **changes}
    configuration = {key: value for key, value in configuration.items() if value is not None}

    assert landscape.objective(configuration) ** 2 == pytest.approx(d_squared)


def test_distance_compares_non_numbers_as_json() -> None:
    landscape = parse_landscape({"kind": "distance", "optimum": {"flag": True, "tags": ["a"]}})

    assert landscape.objective({"flag": True, "tags": ["a"]}) == 0
    assert landscape.objective({"flag": 1, "tags": ["a"]}) == 1
    assert landscape.objective({"flag": True, "tags": ["a", "b"]}) == 1


def test_distance_defaults() -> None:
    landscape = parse_landscape({"kind": "distance", "optimum": {"x": 0}})

    assert landscape == DistanceLandscape(seed=0, optimum={"x": 0}, scale={}, width=0.5)
    assert landscape.minimum == 0
    assert landscape.domain == {}
    assert landscape.probability({"x": 0.5}) == pytest.approx(math.exp(-0.5))


# -- branin and hartmann6 -----------------------------------------------------------------------


def test_branin_landscape() -> None:
    landscape = parse_landscape({"kind": "branin", "x": "a", "y": "b", "seed": 3})

    assert landscape == BraninLandscape(seed=3, x="a", y="b", tau=10.0)
    assert landscape.domain == {"a": (-5.0, 10.0), "b": (0.0, 15.0)}
    assert landscape.probability({"a": math.pi, "b": 2.275}) == pytest.approx(1.0, abs=1e-6)
    assert landscape.objective({"a": 0, "b": 0}) == pytest.approx(branin(0, 0))
    far = landscape.probability({"a": 0, "b": 0})
    assert far == pytest.approx(math.exp(-(branin(0, 0) - BRANIN_MINIMUM) / 10))
    assert 0 < far < 0.01


def test_hartmann6_landscape() -> None:
    landscape = parse_landscape({"kind": "hartmann6", "variables": X, "tau": 0.5})

    assert landscape == Hartmann6Landscape(seed=0, names=tuple(X), tau=0.5)
    assert landscape.domain == HARTMANN6_DOMAIN
    at_minimum = dict(zip(X, HARTMANN6_ARGMIN, strict=True))
    assert landscape.probability(at_minimum) == pytest.approx(1.0, abs=1e-4)
    middle = dict.fromkeys(X, 0.5)
    assert landscape.objective(middle) == pytest.approx(hartmann6([0.5] * 6))
    assert landscape.probability(middle) == pytest.approx(
        math.exp(-(hartmann6([0.5] * 6) - HARTMANN6_MINIMUM) / 0.5)
    )
    assert parse_landscape({"kind": "hartmann6", "variables": X}) == Hartmann6Landscape(
        names=tuple(X), tau=1.0
    )


@pytest.mark.parametrize("value", [None, "0.5", True, math.nan])
def test_function_landscapes_need_numeric_variables(value: Any) -> None:
    landscape = parse_landscape({"kind": "branin", "x": "x1", "y": "x2"})
    configuration = {"x2": 1.0} if value is None else {"x1": value, "x2": 1.0}

    with pytest.raises(ValueError, match="landscape variable 'x1' is missing or not a number"):
        landscape.probability(configuration)


def test_probability_stays_in_the_unit_interval() -> None:
    branin_landscape = parse_landscape({"kind": "branin", "x": "x1", "y": "x2", "tau": 0.001})
    hartmann = parse_landscape({"kind": "hartmann6", "variables": X})

    for x in (-5.0, -math.pi, 0.0, 5.0, 10.0):
        for y in (0.0, 2.275, 7.5, 12.275, 15.0):
            assert 0 <= branin_landscape.probability({"x1": x, "x2": y}) <= 1
    for v in (0.0, 0.3, 1.0):
        assert 0 <= hartmann.probability(dict.fromkeys(X, v)) <= 1


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("distance", "landscape must be an object"),
        ({}, "landscape.kind must be one of 'branin', 'distance', 'hartmann6', not None"),
        ({"kind": "rosenbrock"}, "landscape.kind must be one of 'branin', 'distance', 'hart"),
        ({"kind": "distance"}, "landscape.optimum must be a non-empty object"),
        ({"kind": "distance", "optimum": {}}, "landscape.optimum must be a non-empty object"),
        ({"kind": "distance", "optimum": [1]}, "landscape.optimum must be a non-empty object"),
        ({**DISTANCE, "width": 0}, "landscape.width must be a number > 0"),
        ({**DISTANCE, "width": "wide"}, "landscape.width must be a number > 0"),
        ({**DISTANCE, "width": math.inf}, "landscape.width must be a number > 0"),
        ({**DISTANCE, "scale": 2}, "landscape.scale must be an object"),
        ({**DISTANCE, "scale": {"n": 0}}, "landscape.scale.n must be a number > 0"),
        ({**DISTANCE, "scale": {"model": 1}}, "landscape.scale.model must scale a numeric"),
        ({**DISTANCE, "scale": {"top_p": 1}}, "landscape.scale.top_p must scale a numeric"),
        ({**DISTANCE, "widht": 1}, "landscape of kind 'distance' has unknown keys: widht"),
        ({**DISTANCE, "seed": 1.5}, "landscape.seed must be an integer"),
        ({**DISTANCE, "seed": True}, "landscape.seed must be an integer"),
        ({"kind": "branin", "x": "x1"}, "landscape.y must name a configuration variable"),
        ({"kind": "branin", "x": "", "y": "b"}, "landscape.x must name a configuration variable"),
        ({"kind": "branin", "x": "a", "y": "b", "tau": -1}, "landscape.tau must be a number > 0"),
        ({"kind": "branin", "variables": X}, "landscape of kind 'branin' has unknown keys: var"),
        ({"kind": "hartmann6"}, "landscape.variables must be a list of 6 configuration variable"),
        ({"kind": "hartmann6", "variables": X[:5]}, "landscape.variables must be a list of 6"),
        ({"kind": "hartmann6", "variables": [*X, "x7"]}, "landscape.variables must be a list"),
        ({"kind": "hartmann6", "variables": [*X[:5], 6]}, "landscape.variables must be a list"),
        ({"kind": "hartmann6", "variables": "x1,x2"}, "landscape.variables must be a list"),
    ],
)
def test_bad_landscapes_are_clear_errors(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_landscape(value)
