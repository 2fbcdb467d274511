"""`check_configuration` is cheap and complete; the calculator tool is safe arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from dspex_gql.engine.adapters import Adapter
from dspex_gql.engine.adapters.dspy import DspyAdapter
from dspex_gql.engine.adapters.dspy.calculator import calculator
from dspex_gql.engine.adapters.dspy.configuration import request_parameters


def test_the_dspy_adapter_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = DspyAdapter()

    assert adapter.name == "dspy"
    assert DspyAdapter().implementation_names() == ["self_check"]


def test_a_good_configuration_has_no_problems() -> None:
    configuration = {
        "lm": "fast",
        "temperature": 0.2,
        "max_tokens": 200,
        "top_p": 1,
        "stop": ["\n\n"],
        "seed": 3,
        "tools": ["calculator"],
        "max_retries": 0,
        "timeout_seconds": 30,
        "max_iters": 5,
        "landscape": {"anything": "another component reads"},
    }

    assert DspyAdapter().check_configuration(configuration) == []


@pytest.mark.parametrize(
    ("configuration", "problem"),
    [
        ({}, "'lm' is required: name a language model"),
        ({"lm": 3}, "'lm' must be a model name, got 3"),
        ({"lm": " "}, "'lm' must be a model name, got ' '"),
        ({"tools": "calculator"}, "'tools' must be a list of tool names, got 'calculator'"),
        ({"max_retries": 11}, "'max_retries' must be an integer between 0 and 10, got 11"),
        ({"max_retries": True}, "'max_retries' must be an integer between 0 and 10, got True"),
        ({"timeout_seconds": 0}, "'timeout_seconds' must be 0 < seconds <= 600, got 0"),
        ({"temperature": "hot"}, "'temperature' must be a number between 0 and 2, got 'hot'"),
        ({"max_tokens": 0}, "'max_tokens' must be an integer between 1 and 1000000, got 0"),
        ({"top_p": float("nan")}, "'top_p' must be a number between 0 and 1, got nan"),
        ({"stop": ["a"] * 5}, "'stop' must be a non-empty string or a list of 1 to 4 non-empty"),
    ],
)
def test_configuration_problems_are_named(configuration: dict[str, Any], problem: str) -> None:
    problems = DspyAdapter().check_configuration({"lm": "fast"} | configuration)
    if not configuration:
        problems = DspyAdapter().check_configuration({})

    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_only_valid_request_parameters_are_sent() -> None:
    values = {"temperature": 0.5, "max_tokens": -1, "api_base": "http://x", "lm": "fast"}

    assert request_parameters(values) == {"temperature": 0.5}


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("2 + 2", "4"),
        ("(2 + 3) * 4", "20"),
        ("7 / 2", "3.5"),
        ("-2 ** 3", "-8"),
        ("10 // 3 + 10 % 3", "4"),
        ("1 / 0", "error: division by zero"),
        ("2 ** 1000", "error: exponents are at most 100"),
        ("__import__('os')", "error: only numbers and + - * / // % ** are allowed, not"),
        ("True + 1", "error: only numbers and + - * / // % ** are allowed, not booleans"),
        ("2 +", "error: not an arithmetic expression: '2 +'"),
        ("9" * 300, "error: expressions are at most 200 characters"),
    ],
)
def test_the_calculator_does_arithmetic_only(expression: str, answer: str) -> None:
    assert calculator(expression).startswith(answer)
