from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from itertools import islice
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dspex_gql.engine.variables import (
    Choices,
    FloatRange,
    IntRange,
    SamplingStrategy,
    SearchSpace,
    Variable,
    VariableType,
    build_space,
    complete,
    default_value,
    generate,
    grid_size,
    grid_values,
    is_active,
    iterate_grid,
    ordered,
    space_to_json,
    validate_configuration,
    value_key,
)

MODULES = ("predict", "chain_of_thought", "react")
STRATEGIES = list(SamplingStrategy)
SEEDED = [s for s in SamplingStrategy if s != SamplingStrategy.GRID]

SPACE = build_space(
    [
        {"name": "temperature", "type": "FLOAT", "constraints": {"min": 0, "max": 2}},
        {"name": "top_k", "type": "INTEGER", "constraints": {"min": 1, "max": 3}},
        {"name": "retriever", "type": "CHOICE", "constraints": {"choices": ["bm25", "dense"]}},
        {"name": "rerank", "type": "BOOLEAN"},
        {"name": "depth", "type": "INTEGER", "constraints": {"min": 0, "max": 8, "step": 4}},
    ],
    [
        {"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]},
        {"variable": "rerank", "dependsOn": "retriever", "values": ["dense"]},
        {"variable": "depth", "dependsOn": "rerank", "values": [True]},
    ],
    known_modules=MODULES,
)


def space_of(*variables: Variable, dependencies: Any = None) -> SearchSpace:
    variables_json, _ = space_to_json(SearchSpace(variables))
    return build_space(variables_json, dependencies, known_modules=MODULES)


def is_plain_json(value: Any) -> bool:
    return value is None or type(value) in (bool, int, float, str)


def assert_valid(space: SearchSpace, configuration: dict[str, Any]) -> None:
    assert validate_configuration(space, configuration) == []
    assert configuration == complete(space, configuration)  # exactly the active variables
    assert all(is_plain_json(value) for value in configuration.values())
    json.dumps(configuration, allow_nan=False)


# -- ordering and activity -----------------------------------------------------------------------


def test_ordered_puts_parents_first_and_is_otherwise_stable() -> None:
    space = build_space(
        [
            {"name": "child", "type": "BOOLEAN"},
            {"name": "x", "type": "BOOLEAN"},
            {"name": "parent", "type": "BOOLEAN"},
            {"name": "y", "type": "BOOLEAN"},
        ],
        [{"variable": "child", "dependsOn": "parent", "values": [True]}],
        known_modules=(),
    )
    assert [v.name for v in ordered(space)] == ["x", "parent", "child", "y"]
    assert [v.name for v in ordered(SPACE)] == [
        "temperature",
        "retriever",
        "top_k",
        "rerank",
        "depth",
    ]


def test_activity_follows_the_chain() -> None:
    dense = {"retriever": "dense", "rerank": True}
    assert is_active(SPACE, "temperature", {})
    assert is_active(SPACE, "depth", dense)
    assert not is_active(SPACE, "depth", {**dense, "rerank": False})
    assert not is_active(SPACE, "depth", {"retriever": "bm25", "rerank": True})  # rerank inactive
    assert not is_active(SPACE, "top_k", {})  # parent missing


def test_activity_keeps_one_and_true_apart() -> None:
    space = space_of(
        Variable("a", VariableType.CHOICE, Choices((1, True))),
        Variable("b", VariableType.BOOLEAN, Choices((False, True))),
        dependencies=[{"variable": "b", "dependsOn": "a", "values": [1]}],
    )
    assert is_active(space, "b", {"a": 1})
    assert not is_active(space, "b", {"a": True})


# -- defaults and completion ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        (Variable("v", VariableType.FLOAT, FloatRange(0.0, 2.0)), 1.0),
        (Variable("v", VariableType.FLOAT, FloatRange(0.01, 100.0, log=True)), 1.0),
        (Variable("v", VariableType.FLOAT, FloatRange(0.0, 1.0, step=0.3)), 0.6),
        (Variable("v", VariableType.FLOAT, FloatRange(0.0, 2.0), default=0.2), 0.2),
        (Variable("v", VariableType.INTEGER, IntRange(1, 10)), 5),
        (Variable("v", VariableType.INTEGER, IntRange(1, 10, step=4)), 5),
        (Variable("v", VariableType.INTEGER, IntRange(0, 10, step=4)), 4),
        (Variable("v", VariableType.INTEGER, IntRange(1, 10_000, log=True)), 100),
        (Variable("v", VariableType.CHOICE, Choices(("b", "a"))), "b"),
        (Variable("v", VariableType.CHOICE, Choices(("b", "a")), default="a"), "a"),
        (Variable("v", VariableType.MODULE, Choices(("react", "predict"))), "react"),
        (Variable("v", VariableType.BOOLEAN, Choices((False, True))), False),
        (Variable("v", VariableType.BOOLEAN, Choices((False, True)), default=True), True),
    ],
)
def test_default_value(variable: Variable, expected: Any) -> None:
    value = default_value(variable)
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)
    assert validate_configuration(space_of(variable), {"v": value}) == []


def test_complete_fills_active_defaults_and_drops_inactive() -> None:
    assert complete(SPACE, {}) == {"temperature": 1.0, "retriever": "bm25"}
    assert complete(SPACE, {"retriever": "dense", "depth": 8}) == {
        "temperature": 1.0,
        "top_k": 2,
        "retriever": "dense",
        "rerank": False,
    }
    assert complete(SPACE, {"retriever": "dense", "rerank": True, "top_k": 3}) == {
        "temperature": 1.0,
        "top_k": 3,
        "retriever": "dense",
        "rerank": True,
        "depth": 4,
    }


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configuration", "field", "code"),
    [
        ([1], "configuration", "invalid"),
        ({"nope": 1}, "configuration.nope", "unknown"),
        ({"top_k": 2}, "configuration.top_k", "inactive"),
        ({"retriever": "dense", "depth": 4}, "configuration.depth", "inactive"),
        ({"temperature": "hot"}, "configuration.temperature", "invalid"),
        ({"temperature": True}, "configuration.temperature", "invalid"),
        ({"temperature": math.nan}, "configuration.temperature", "invalid"),
        ({"temperature": 2.5}, "configuration.temperature", "out_of_range"),
        ({"retriever": "dense", "top_k": 2.0}, "configuration.top_k", "invalid"),
        ({"retriever": "dense", "top_k": 4}, "configuration.top_k", "out_of_range"),
        ({"retriever": "dense", "rerank": True, "depth": 2}, "configuration.depth", "out_of_range"),
        ({"retriever": "sparse"}, "configuration.retriever", "invalid"),
        ({"retriever": "dense", "rerank": 1}, "configuration.rerank", "invalid"),
    ],
)
def test_invalid_configuration(configuration: Any, field: str, code: str) -> None:
    assert [(p.field, p.code) for p in validate_configuration(SPACE, configuration)] == [
        (field, code)
    ]


def test_missing_active_variables_are_fine() -> None:
    assert validate_configuration(SPACE, {}) == []
    assert validate_configuration(SPACE, {"retriever": "dense", "rerank": True}) == []


def test_every_problem_is_reported_with_helpful_messages() -> None:
    found = validate_configuration(
        SPACE, {"nope": 1, "temperature": 9, "retriever": "sparse", "top_k": 1}
    )
    assert [(p.field, p.code) for p in found] == [
        ("configuration.nope", "unknown"),
        ("configuration.temperature", "out_of_range"),
        ("configuration.retriever", "invalid"),
        ("configuration.top_k", "inactive"),
    ]
    assert found[2].message == "must be one of ['bm25', 'dense']"
    assert found[3].message == "only used when retriever is one of ['dense']"


def test_long_choice_lists_are_not_listed() -> None:
    space = space_of(Variable("v", VariableType.CHOICE, Choices(tuple(range(21)))))
    (problem,) = validate_configuration(space, {"v": 99})
    assert problem.message == "is not one of the 21 allowed values"


def test_membership_keeps_one_and_true_apart() -> None:
    space = space_of(Variable("v", VariableType.CHOICE, Choices((1, "x"))))
    assert validate_configuration(space, {"v": 1}) == []
    assert [p.code for p in validate_configuration(space, {"v": True})] == ["invalid"]


def test_float_steps_tolerate_rounding() -> None:
    space = space_of(Variable("v", VariableType.FLOAT, FloatRange(0.0, 1.0, step=0.1)))
    assert validate_configuration(space, {"v": 0.1 * 3}) == []
    assert [p.code for p in validate_configuration(space, {"v": 0.35})] == ["out_of_range"]


# -- sampling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_samples_are_valid_and_reproducible(strategy: SamplingStrategy) -> None:
    first = generate(SPACE, strategy, 40, seed=7)
    assert len(first) == 40 if strategy != SamplingStrategy.GRID else len(first) <= 40
    assert first == generate(SPACE, strategy, 40, seed=7)
    for configuration in first:
        assert_valid(SPACE, configuration)


@pytest.mark.parametrize("strategy", SEEDED)
def test_seeds_give_different_samples(strategy: SamplingStrategy) -> None:
    assert generate(SPACE, strategy, 10, seed=1) != generate(SPACE, strategy, 10, seed=2)


def test_grid_ignores_the_seed() -> None:
    assert generate(SPACE, SamplingStrategy.GRID, 10, seed=1) == generate(
        SPACE, SamplingStrategy.GRID, 10, seed=2
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_count_zero_and_negative(strategy: SamplingStrategy) -> None:
    assert generate(SPACE, strategy, 0, seed=1) == []
    with pytest.raises(ValueError, match="negative"):
        generate(SPACE, strategy, -1, seed=1)


def test_sobol_does_not_warn_about_powers_of_two() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(generate(SPACE, SamplingStrategy.SOBOL, 5, seed=1)) == 5


LOG_SPACE = space_of(
    Variable("lr", VariableType.FLOAT, FloatRange(1e-6, 1.0, log=True)),
    Variable("n", VariableType.INTEGER, IntRange(1, 1_000_000, log=True)),
)


@pytest.mark.parametrize("strategy", SEEDED)
def test_log_ranges_cover_orders_of_magnitude(strategy: SamplingStrategy) -> None:
    samples = generate(LOG_SPACE, strategy, 600, seed=3)
    for name, low in (("lr", -6), ("n", 0)):
        decades = Counter(math.floor(math.log10(s[name])) - low for s in samples)
        assert all(decades[decade] > 50 for decade in range(6)), decades


def test_random_samples_each_active_variable() -> None:
    samples = generate(SPACE, SamplingStrategy.RANDOM, 200, seed=5)
    assert {s["retriever"] for s in samples} == {"bm25", "dense"}
    assert {s["top_k"] for s in samples if "top_k" in s} == {1, 2, 3}
    assert {s["depth"] for s in samples if "depth" in s} == {0, 4, 8}
    assert all(("top_k" in s) == (s["retriever"] == "dense") for s in samples)


# -- grid ----------------------------------------------------------------------------------------


def test_grid_walks_the_full_product() -> None:
    space = space_of(
        Variable("a", VariableType.CHOICE, Choices(("x", "y", "z"))),
        Variable("b", VariableType.BOOLEAN, Choices((False, True))),
        Variable("n", VariableType.INTEGER, IntRange(1, 2)),
    )
    grid = list(iterate_grid(space))
    assert grid_size(space) == len(grid) == 12
    assert grid[:3] == [
        {"a": "x", "b": False, "n": 1},
        {"a": "x", "b": False, "n": 2},
        {"a": "x", "b": True, "n": 1},
    ]
    assert len({json.dumps(c, sort_keys=True) for c in grid}) == 12  # fmt: skip


def test_grid_drops_inactive_variables_without_duplicates() -> None:
    grid = list(iterate_grid(SPACE, points=3))
    temperatures = 3
    bm25 = 1
    dense = 3 * (1 + 3)  # top_k, then rerank False or rerank True with 3 depths
    assert len(grid) == temperatures * (bm25 + dense) == 39
    assert grid_size(SPACE, points=3) == 3 * 3 * 2 * 2 * 3
    assert len({json.dumps(c, sort_keys=True) for c in grid}) == len(grid)
    for configuration in grid:
        assert_valid(SPACE, configuration)
    assert generate(SPACE, SamplingStrategy.GRID, 1000) == list(iterate_grid(SPACE, points=5))


def ranged(domain: FloatRange | IntRange) -> Variable:
    kind = VariableType.INTEGER if isinstance(domain, IntRange) else VariableType.FLOAT
    return Variable("v", kind, domain)


@pytest.mark.parametrize(
    ("variable", "points", "expected"),
    [
        (ranged(FloatRange(0.0, 1.0)), 5, [0, 0.25, 0.5, 0.75, 1]),
        (ranged(FloatRange(0.001, 1000.0, log=True)), 4, [0.001, 0.1, 10, 1000]),
        (ranged(FloatRange(0.0, 1.0, step=0.25)), 5, [0, 0.25, 0.5, 0.75, 1]),
        (ranged(FloatRange(0.0, 1.0, step=0.1)), 3, [0, 0.5, 1]),
        (ranged(IntRange(1, 3)), 5, [1, 2, 3]),
        (ranged(IntRange(1, 100)), 5, [1, 25, 50, 75, 100]),
        (ranged(IntRange(0, 100, step=10)), 3, [0, 50, 100]),
        (ranged(IntRange(1, 10_000, log=True)), 5, [1, 10, 100, 1000, 10_000]),
        (Variable("v", VariableType.CHOICE, Choices(tuple("abcdefg"))), 2, list("abcdefg")),
        (Variable("v", VariableType.CHOICE, Choices((1, True, 1.5))), 2, [1, True, 1.5]),
    ],
)
def test_grid_values(variable: Variable, points: int, expected: list[Any]) -> None:
    values = grid_values(variable, points)
    assert values == pytest.approx(expected)
    assert [value_key(v)[0] for v in values] == [value_key(v)[0] for v in expected]
    assert values[0] == expected[0]
    assert values[-1] == expected[-1]


def test_grid_needs_two_points() -> None:
    with pytest.raises(ValueError, match="2 points"):
        next(iterate_grid(SPACE, points=1))


def test_grid_stays_lazy_on_huge_spaces() -> None:
    wide = space_of(
        *(Variable(f"v{i}", VariableType.CHOICE, Choices(tuple(range(1000)))) for i in range(64))
    )
    assert grid_size(wide) == 1000**64
    first = list(islice(iterate_grid(wide), 3))
    assert [c["v63"] for c in first] == [0, 1, 2]
    assert len(generate(wide, SamplingStrategy.GRID, 5)) == 5


# -- random valid spaces -------------------------------------------------------------------------

SCALARS = st.one_of(
    st.text(max_size=3),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.floats(-10, 10, allow_nan=False),
)


@st.composite
def raw_variables(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(VariableType)))
    raw: dict[str, Any] = {"name": name, "type": kind.value}
    if kind == VariableType.FLOAT:
        log = draw(st.booleans())
        low = draw(st.floats(1e-6, 1e3) if log else st.floats(-1e6, 1e6))
        high = low + draw(st.floats(1e-3, 1e6))
        raw["constraints"] = {"min": low, "max": high, "log": log}
        if not log and draw(st.booleans()):
            raw["constraints"]["step"] = (high - low) * draw(st.floats(0.01, 1.0))
    elif kind == VariableType.INTEGER:
        log = draw(st.booleans())
        low = draw(st.integers(1, 1000) if log else st.integers(-1000, 1000))
        width = draw(st.integers(1, 10**9))
        step = 1 if log else draw(st.integers(1, width))
        raw["constraints"] = {"min": low, "max": low + width, "step": step, "log": log}
    elif kind == VariableType.CHOICE:
        choices = draw(st.lists(SCALARS, min_size=1, max_size=6, unique_by=value_key))
        raw["constraints"] = {"choices": choices}
    elif kind == VariableType.MODULE:
        modules = draw(st.lists(st.sampled_from(MODULES), min_size=1, unique=True))
        raw["constraints"] = {"modules": modules}
    return raw


@st.composite
def spaces(draw: st.DrawFn) -> SearchSpace:
    count = draw(st.integers(1, 6))
    variables = [draw(raw_variables(f"v{i}")) for i in range(count)]
    dependencies = []
    for child in range(1, count):
        parents = [i for i in range(child) if variables[i]["type"] in ("CHOICE", "MODULE")]
        wanted: bool = draw(st.booleans())
        if not parents or not wanted:
            continue
        parent = variables[draw(st.sampled_from(parents))]
        allowed = next(iter(parent["constraints"].values()))
        values = draw(st.lists(st.sampled_from(allowed), min_size=1, unique_by=value_key))
        dependencies.append(
            {"variable": f"v{child}", "dependsOn": parent["name"], "values": values}
        )
    return build_space(variables, dependencies, known_modules=MODULES)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(space=spaces(), strategy=st.sampled_from(STRATEGIES), seed=st.integers(0, 2**32 - 1))
def test_samples_from_any_space_are_valid(
    space: SearchSpace, strategy: SamplingStrategy, seed: int
) -> None:
    samples = generate(space, strategy, 12, seed=seed)
    assert samples == generate(space, strategy, 12, seed=seed)
    for configuration in samples:
        assert_valid(space, configuration)


@PROPERTY
@given(space=spaces())
def test_any_space_round_trips_and_completes_validly(space: SearchSpace) -> None:
    assert build_space(*space_to_json(space), known_modules=MODULES) == space
    assert_valid(space, complete(space, {}))
    assert len(ordered(space)) == len(space.variables)


def test_a_fine_grid_far_from_zero_accepts_its_own_values() -> None:
    """Found by hypothesis: near 524288 one unit in the last place is 4e-6 of a step of
    3.125e-05, so a grid value computed in floating point can be off by more than a millionth
    of a step."""
    variable = Variable(
        "v0", VariableType.FLOAT, FloatRange(524288.0, 524288.001, step=3.125000148429535e-05)
    )
    space = SearchSpace((variable,))
    configuration = complete(space, {})
    assert validate_configuration(space, configuration) == []
    assert validate_configuration(space, {"v0": 524288.0 + 3.125000148429535e-05 / 2}) != []
