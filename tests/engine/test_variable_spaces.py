from __future__ import annotations

import math
import sys
from typing import Any

import pytest

from dspex_gql.engine.variables import (
    MAX_VARIABLES,
    Choices,
    Dependency,
    Difficulty,
    FloatRange,
    IntRange,
    SearchSpace,
    SpaceInvalid,
    Variable,
    VariableType,
    build_space,
    measure,
    space_to_json,
)

MODULES = ("predict", "chain_of_thought")


def floating(name: str = "x", **constraints: Any) -> dict[str, Any]:
    return {"name": name, "type": "FLOAT", "constraints": {"min": 0, "max": 1, **constraints}}


def integer(name: str = "n", **constraints: Any) -> dict[str, Any]:
    return {"name": name, "type": "INTEGER", "constraints": {"min": 1, "max": 10, **constraints}}


def choice(name: str = "c", choices: Any = None) -> dict[str, Any]:
    return {
        "name": name,
        "type": "CHOICE",
        "constraints": {"choices": ["a", "b"] if choices is None else choices},
    }


def module(*modules: Any, **extra: Any) -> dict[str, Any]:
    return {"name": "m", "type": "MODULE", "constraints": {"modules": list(modules)}, **extra}


def boolean(name: str = "flag") -> dict[str, Any]:
    return {"name": name, "type": "BOOLEAN"}


def build(variables: Any, dependencies: Any = None) -> SearchSpace:
    return build_space(variables, dependencies, known_modules=MODULES)


def problems(variables: Any, dependencies: Any = None) -> list[tuple[str, str]]:
    with pytest.raises(SpaceInvalid) as caught:
        build(variables, dependencies)
    return [(problem.field, problem.code) for problem in caught.value.problems]


SPACE = build(
    [
        {
            "name": "temperature",
            "type": "FLOAT",
            "default": 0.7,
            "constraints": {"min": 0, "max": 2},
        },
        {"name": "retriever", "type": "CHOICE", "constraints": {"choices": ["bm25", "dense"]}},
        {"name": "top_k", "type": "INTEGER", "constraints": {"min": 1, "max": 20, "step": 1}},
        {"name": "module", "type": "MODULE", "constraints": {"modules": ["predict"]}},
        {"name": "cache", "type": "BOOLEAN", "description": "reuse answers"},
    ],
    [{"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}],
)


# -- valid spaces --------------------------------------------------------------------------------


def test_a_valid_space_is_typed() -> None:
    assert SPACE.names == ("temperature", "retriever", "top_k", "module", "cache")
    assert SPACE.variable("temperature") == Variable(
        "temperature", VariableType.FLOAT, FloatRange(0.0, 2.0), default=0.7
    )
    assert SPACE.variable("top_k").domain == IntRange(1, 20, 1)
    assert SPACE.variable("module").domain == Choices(("predict",))
    assert SPACE.variable("cache") == Variable(
        "cache", VariableType.BOOLEAN, Choices((False, True)), description="reuse answers"
    )
    assert SPACE.dependencies == (Dependency("top_k", "retriever", ("dense",)),)


def test_space_to_json_round_trips() -> None:
    variables, dependencies = space_to_json(SPACE)
    assert build(variables, dependencies) == SPACE
    assert dependencies == [{"variable": "top_k", "dependsOn": "retriever", "values": ["dense"]}]
    assert variables[0] == {
        "name": "temperature",
        "type": "FLOAT",
        "constraints": {"min": 0.0, "max": 2.0, "log": False},
        "default": 0.7,
    }


def test_float_range_may_be_stepped_or_log() -> None:
    space = build([floating("a", step=0.25), floating("b", min=0.001, log=True)])
    assert space.variable("a").domain == FloatRange(0.0, 1.0, step=0.25)
    assert space.variable("b").domain == FloatRange(0.001, 1.0, log=True)


def test_several_dependencies_for_one_variable_are_allowed() -> None:
    space = build(
        [choice("a"), choice("b"), boolean("c")],
        [
            {"variable": "c", "dependsOn": "a", "values": ["a"]},
            {"variable": "c", "dependsOn": "b", "values": ["b"]},
        ],
    )
    assert len(space.dependencies) == 2


def test_one_and_true_are_distinct_choices() -> None:
    space = build([choice("c", [1, True, 0, False, None, "1"])])
    assert space.variable("c").domain == Choices((1, True, 0, False, None, "1"))


# -- invalid spaces ------------------------------------------------------------------------------

C = "variables[0].constraints"
D = "variables[0].default"


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({}, "variables", "invalid"),
        ([], "variables", "required"),
        (["x"], "variables[0]", "invalid"),
        ([{"type": "BOOLEAN"}], "variables[0].name", "required"),
        ([boolean("1st")], "variables[0].name", "invalid"),
        ([boolean("has-dash")], "variables[0].name", "invalid"),
        ([boolean("x" * 65)], "variables[0].name", "invalid"),
        ([{"name": 3, "type": "BOOLEAN"}], "variables[0].name", "invalid"),
        ([{"name": "x"}], "variables[0].type", "required"),
        ([{"name": "x", "type": "float"}], "variables[0].type", "invalid"),
        ([{**boolean(), "extra": 1}], "variables[0].extra", "invalid"),
        ([{**boolean(), "description": 5}], "variables[0].description", "invalid"),
        ([{**boolean(), "description": "d" * 1001}], "variables[0].description", "invalid"),
        ([{**boolean(), "constraints": []}], C, "invalid"),
        ([{**boolean(), "constraints": {"min": 0}}], f"{C}.min", "invalid"),
        # FLOAT
        ([{"name": "x", "type": "FLOAT"}], f"{C}.min", "required"),
        ([floating(min=None)], f"{C}.min", "required"),
        ([floating(max=None)], f"{C}.max", "required"),
        ([floating(min="0")], f"{C}.min", "invalid"),
        ([floating(min=True)], f"{C}.min", "invalid"),
        ([floating(max=math.inf)], f"{C}.max", "invalid"),
        ([floating(min=math.nan)], f"{C}.min", "invalid"),
        ([floating(min=10**400)], f"{C}.min", "invalid"),
        ([floating(min=1)], f"{C}.min", "out_of_range"),
        ([floating(min=2)], f"{C}.min", "out_of_range"),
        ([floating(min=-1e308, max=1e308)], f"{C}.max", "out_of_range"),
        ([floating(step=0)], f"{C}.step", "out_of_range"),
        ([floating(step=-0.1)], f"{C}.step", "out_of_range"),
        ([floating(step=1.5)], f"{C}.step", "out_of_range"),
        ([floating(log="yes")], f"{C}.log", "invalid"),
        ([floating(log=True)], f"{C}.min", "out_of_range"),
        ([floating(min=0.1, log=True, step=0.1)], f"{C}.step", "invalid"),
        ([floating(choices=[1])], f"{C}.choices", "invalid"),
        # INTEGER
        ([integer(min=1.5)], f"{C}.min", "invalid"),
        ([integer(max=True)], f"{C}.max", "invalid"),
        ([integer(max=2**60)], f"{C}.max", "out_of_range"),
        ([integer(min=10)], f"{C}.min", "out_of_range"),
        ([integer(step=0)], f"{C}.step", "out_of_range"),
        ([integer(step=1.5)], f"{C}.step", "invalid"),
        ([integer(min=0, log=True)], f"{C}.min", "out_of_range"),
        ([integer(log=True, step=2)], f"{C}.step", "invalid"),
        # CHOICE
        ([{"name": "c", "type": "CHOICE"}], f"{C}.choices", "required"),
        ([choice("c", [])], f"{C}.choices", "required"),
        ([choice("c", "ab")], f"{C}.choices", "invalid"),
        ([choice("c", list(range(1001)))], f"{C}.choices", "too_many"),
        ([choice("c", ["a", "a"])], f"{C}.choices[1]", "duplicate"),
        ([choice("c", [1, 1.0])], f"{C}.choices[1]", "duplicate"),
        ([choice("c", [True, True])], f"{C}.choices[1]", "duplicate"),
        ([choice("c", ["a", [1]])], f"{C}.choices[1]", "invalid"),
        ([choice("c", ["a", {"k": 1}])], f"{C}.choices[1]", "invalid"),
        ([choice("c", ["a", math.nan])], f"{C}.choices[1]", "invalid"),
        ([{**choice(), "constraints": {"choices": ["a"], "min": 0}}], f"{C}.min", "invalid"),
        # MODULE
        ([module()], f"{C}.modules", "required"),
        ([module("predict", 3)], f"{C}.modules[1]", "invalid"),
        ([module("predict", "predict")], f"{C}.modules[1]", "duplicate"),
        ([module("react")], f"{C}.modules[0]", "unknown"),
        # defaults
        ([{**floating(), "default": 2}], D, "out_of_range"),
        ([{**floating(), "default": "0.5"}], D, "invalid"),
        ([{**floating(), "default": True}], D, "invalid"),
        ([{**floating(step=0.25), "default": 0.3}], D, "out_of_range"),
        ([{**integer(), "default": 2.5}], D, "invalid"),
        ([{**integer(), "default": 2.0}], D, "invalid"),
        ([{**integer(), "default": 11}], D, "out_of_range"),
        ([{**integer(step=3), "default": 5}], D, "out_of_range"),
        ([{**choice("c", [1, 2]), "default": True}], D, "invalid"),
        ([{**choice("c", [True, False]), "default": 1}], D, "invalid"),
        ([{**choice("c", ["a"]), "default": "b"}], D, "invalid"),
        ([module("predict", default="react")], D, "invalid"),
        ([{**boolean(), "default": 1}], D, "invalid"),
        ([{**boolean(), "default": "true"}], D, "invalid"),
    ],
)
def test_invalid_variable(variables: Any, field: str, code: str) -> None:
    assert (field, code) in problems(variables)


@pytest.mark.parametrize(
    ("variable", "default"),
    [
        (floating(step=0.1), 0.3),  # 0.1 * 3 is 0.30000000000000004
        (floating(), 1),
        (integer(step=3), 7),
        (choice("c", [1, True]), True),
        (choice("c", [None, "x"]), "x"),
        (boolean(), False),
    ],
)
def test_valid_defaults(variable: dict[str, Any], default: Any) -> None:
    space = build([{**variable, "default": default}])
    assert space.variables[0].default == default
    assert type(space.variables[0].default) is type(default) or isinstance(default, int)


def test_names_are_unique() -> None:
    assert problems([boolean("a"), boolean("b"), integer("a")]) == [
        ("variables[2].name", "duplicate")
    ]


def test_at_most_64_variables() -> None:
    many = [boolean(f"v{i}") for i in range(MAX_VARIABLES + 1)]
    assert problems(many) == [("variables", "too_many")]
    assert len(build(many[:MAX_VARIABLES]).variables) == MAX_VARIABLES


def test_every_problem_is_reported() -> None:
    found = problems(
        [floating(min=2), integer(step=0), choice("c", ["a", "a"]), boolean("bad name")],
        [{"variable": "nope", "dependsOn": "c", "values": ["z"]}],
    )
    assert found == [
        (f"{C}.min", "out_of_range"),
        ("variables[1].constraints.step", "out_of_range"),
        ("variables[2].constraints.choices[1]", "duplicate"),
        ("variables[3].name", "invalid"),
        ("dependencies[0].variable", "unknown"),
    ]


def test_unknown_module_names_the_available_ones() -> None:
    raw = [module("react")]
    with pytest.raises(SpaceInvalid) as caught:
        build(raw)
    assert "chain_of_thought, predict" in caught.value.problems[0].message


def test_unknown_constraint_is_named() -> None:
    with pytest.raises(SpaceInvalid) as caught:
        build([floating(maximum=3)])
    assert "'maximum'" in caught.value.problems[0].message
    assert "maximum" in str(caught.value)


# -- dependencies --------------------------------------------------------------------------------

VARIABLES = [choice("a"), choice("b"), choice("c"), floating("x")]
DEP = "dependencies[0]"


def dep(**fields: Any) -> list[dict[str, Any]]:
    """One dependency of b on a being "a", with `fields` replacing (None: removing) keys."""
    raw = {"variable": "b", "dependsOn": "a", "values": ["a"], **fields}
    return [{key: value for key, value in raw.items() if value is not None}]


@pytest.mark.parametrize(
    ("dependencies", "field", "code"),
    [
        ({}, "dependencies", "invalid"),
        (["a"], "dependencies[0]", "invalid"),
        (dep(variable=None), f"{DEP}.variable", "required"),
        (dep(dependsOn=None), f"{DEP}.dependsOn", "required"),
        (dep(variable="z"), f"{DEP}.variable", "unknown"),
        (dep(dependsOn="z"), f"{DEP}.dependsOn", "unknown"),
        (dep(dependsOn=1), f"{DEP}.dependsOn", "invalid"),
        (dep(dependsOn="b"), f"{DEP}.dependsOn", "invalid"),
        (dep(values=None), f"{DEP}.values", "required"),
        (dep(values=[]), f"{DEP}.values", "required"),
        (dep(values="a"), f"{DEP}.values", "invalid"),
        (dep(values=["z"]), f"{DEP}.values[0]", "invalid"),
        (dep(values=["a", "a"]), f"{DEP}.values[1]", "duplicate"),
        (dep(dependsOn="x", values=[2]), f"{DEP}.values[0]", "out_of_range"),
        (dep(when=1), f"{DEP}.when", "invalid"),
    ],
)
def test_invalid_dependency(dependencies: Any, field: str, code: str) -> None:
    assert (field, code) in problems(VARIABLES, dependencies)


def test_dependency_values_keep_one_and_true_apart() -> None:
    variables = [choice("a", [1, 2]), boolean("b")]
    bad = [{"variable": "b", "dependsOn": "a", "values": [True]}]
    assert problems(variables, bad) == [("dependencies[0].values[0]", "invalid")]
    good = [{"variable": "b", "dependsOn": "a", "values": [1]}]
    assert build(variables, good).dependencies[0].values == (1,)


def dependency(child: str, parent: str) -> dict[str, Any]:
    return {"variable": child, "dependsOn": parent, "values": ["a"]}


def test_two_variable_cycle() -> None:
    with pytest.raises(SpaceInvalid) as caught:
        build(VARIABLES, [dependency("a", "b"), dependency("b", "a")])
    (problem,) = caught.value.problems
    assert (problem.field, problem.code) == ("dependencies", "cycle")
    assert problem.message == "dependency cycle: a -> b -> a"


def test_longer_cycle_is_named_in_order() -> None:
    chain = [dependency("x", "a"), dependency("a", "b"), dependency("b", "c"), dependency("c", "a")]
    with pytest.raises(SpaceInvalid) as caught:
        build(VARIABLES, chain)
    assert [p.message for p in caught.value.problems] == ["dependency cycle: a -> b -> c -> a"]


def test_a_diamond_is_not_a_cycle() -> None:
    diamond = [dependency("b", "a"), dependency("c", "a"), dependency("x", "b")]
    space = build(VARIABLES, [*diamond, {"variable": "x", "dependsOn": "c", "values": ["b"]}])
    assert len(space.dependencies) == 4


def test_cycle_is_reported_alongside_other_problems() -> None:
    bad_values = {"variable": "b", "dependsOn": "a", "values": ["zzz"]}
    found = problems(VARIABLES, [dependency("a", "b"), bad_values])
    assert found == [("dependencies[1].values[0]", "invalid"), ("dependencies", "cycle")]


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_of_a_small_space() -> None:
    space = build(
        [
            choice("c", ["a", "b", "c"]),  # 3
            integer("n", min=0, max=9),  # 10
            integer("k", min=1, max=10, step=4),  # 1, 5, 9: 3
            floating("s", step=0.25),  # 0, .25, .5, .75, 1: 5
            floating("t", step=0.3),  # 0, .3, .6, .9: 4
            boolean("b"),  # 2
            floating("x"),  # continuous
        ],
        [{"variable": "n", "dependsOn": "c", "values": ["a"]}],
    )
    metrics = measure(space)
    assert metrics.discrete_space_size == 3 * 10 * 3 * 5 * 4 * 2 == 3600
    assert metrics.continuous_dimensions == 1
    assert metrics.variable_count == 7
    assert metrics.dependency_count == 1
    assert metrics.complexity_score == round(math.log10(3600) + 2 + 0.5, 3) == 6.056
    assert metrics.difficulty == Difficulty.MEDIUM


def test_step_that_divides_the_range_exactly_counts_both_ends() -> None:
    assert measure(build([floating(step=0.1)])).discrete_space_size == 11


def test_only_continuous_variables_have_size_one() -> None:
    metrics = measure(build([floating("a"), floating("b")]))
    assert metrics.discrete_space_size == 1.0
    assert metrics.complexity_score == 4.0
    assert metrics.difficulty == Difficulty.MEDIUM


@pytest.mark.parametrize(
    ("score_inputs", "difficulty"),
    [
        ([boolean()], Difficulty.EASY),  # 0.301
        ([choice("c", list(range(990)))], Difficulty.EASY),  # 2.996
        ([choice("c", list(range(1000)))], Difficulty.MEDIUM),  # 3
        ([floating(f"x{i}") for i in range(4)], Difficulty.HARD),  # 8
        ([floating(f"x{i}") for i in range(7)] + [boolean()], Difficulty.HARD),  # 14.301
        ([floating(f"x{i}") for i in range(8)], Difficulty.EXTREME),  # 16
    ],
)
def test_difficulty_thresholds(score_inputs: list[dict[str, Any]], difficulty: Difficulty) -> None:
    assert measure(build(score_inputs)).difficulty == difficulty


def test_huge_space_is_capped_and_finite() -> None:
    wide = [integer(f"v{i}", min=0, max=10**12 - 1) for i in range(MAX_VARIABLES)]
    metrics = measure(build(wide))
    assert metrics.discrete_space_size == sys.float_info.max
    assert math.isfinite(metrics.complexity_score)
    assert metrics.complexity_score == 12 * 64
    assert metrics.difficulty == Difficulty.EXTREME


def test_large_but_representable_space_is_exact() -> None:
    wide = [integer(f"v{i}", min=0, max=10**12 - 1) for i in range(25)]
    assert measure(build(wide)).discrete_space_size == 1e300
