from __future__ import annotations

import pytest

from dspex_gql.engine.dags.compatibility import fits
from dspex_gql.engine.types import parse_type


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("str", "str", True),
        ("list[str]", "list[str]", True),
        ("int", "float", True),
        ("list[int]", "list[float]", True),
        ("Literal['yes', 'no']", "str", True),
        ("Literal[1, 2]", "int", True),
        ("Literal[1, 2.5]", "float", True),
        ("Literal['a']", "Literal['a', 'b']", True),
        ("list[Literal['a']]", "list[str]", True),
        ("dict", "dict", True),
        ("list[str]", "str", False),
        ("str", "list[str]", False),
        ("str", "Literal['a']", False),
        ("Literal['a', 'c']", "Literal['a', 'b']", False),
        ("Literal['1']", "int", False),
        ("Literal[1.5]", "int", False),
        ("Literal[1]", "bool", False),
        ("float", "int", False),
        ("bool", "int", False),
        ("int", "bool", False),
        ("int", "str", False),
        ("dict", "str", False),
        ("list[list[str]]", "list[str]", False),
        ("list[float]", "list[int]", False),
    ],
)
def test_type_compatibility_table(source: str, target: str, expected: bool) -> None:
    assert fits(parse_type(source), parse_type(target)) is expected
