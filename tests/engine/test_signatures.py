from __future__ import annotations

import keyword
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dspex_gql.engine.signatures import (
    MAX_DESCRIPTION_LENGTH,
    MAX_FIELDS_PER_SIDE,
    MAX_SPEC_LENGTH,
    ParsedSignature,
    SignatureError,
    SignatureField,
    build_signature,
    parse_signature,
    validate_inputs,
)
from dspex_gql.engine.types import (
    FieldType,
    ListType,
    LiteralType,
    ScalarType,
    check_value,
    format_type,
    parse_type,
)
from dspex_gql.errors import FieldProblem


def spec_problems(spec: str) -> list[tuple[str, str]]:
    """(code, message) of each problem parse_signature reports; every field must be "spec"."""
    with pytest.raises(SignatureError) as caught:
        parse_signature(spec)
    assert {problem.field for problem in caught.value.problems} == {"spec"}
    return [(problem.code, problem.message) for problem in caught.value.problems]


def build_problems(
    inputs: list[SignatureField], outputs: list[SignatureField]
) -> list[tuple[str, str]]:
    with pytest.raises(SignatureError) as caught:
        build_signature(inputs, outputs)
    return [(problem.field, problem.code) for problem in caught.value.problems]


# -- parsing ------------------------------------------------------------------------------------


def test_parses_untyped_fields_as_str_and_typed_fields_canonically() -> None:
    signature = parse_signature("question, context: list[str] -> answer, confidence: float")

    assert signature == ParsedSignature(
        inputs=(SignatureField("question"), SignatureField("context", "list[str]")),
        outputs=(SignatureField("answer"), SignatureField("confidence", "float")),
    )
    assert (
        signature.to_spec() == "question: str, context: list[str] -> answer: str, confidence: float"
    )


def test_descriptions_may_hold_commas_arrows_and_escaped_quotes() -> None:
    spec = r'q: str "the \"real\" question, -> not an arrow" -> a "short, plain"'

    signature = parse_signature(spec)

    assert signature.inputs[0].description == 'the "real" question, -> not an arrow'
    assert signature.outputs == (SignatureField("a", "str", "short, plain"),)
    assert signature.to_spec() == (
        r'q: str "the \"real\" question, -> not an arrow" -> a: str "short, plain"'
    )


def test_whitespace_is_free() -> None:
    compact = parse_signature("a:list[list[int]],b:Literal['x','y']->c:bool")
    spacious = parse_signature(
        "  a : list [ list[ int ] ] ,\n b: Literal[ 'x' ,'y' ]  ->  c :bool "
    )

    assert compact == spacious
    assert compact.to_spec() == "a: list[list[int]], b: Literal['x', 'y'] -> c: bool"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ('Literal["a", "b"]', "Literal['a', 'b']"),
        ("Literal[1,2.5,-3]", "Literal[1, 2.5, -3]"),
        ("Literal[1e3]", "Literal[1000.0]"),
        (r'Literal["it\'s", "say \"hi\""]', r"""Literal['it\'s', 'say "hi"']"""),
        ("list[Literal['a',\"b, c\"]]", "list[Literal['a', 'b, c']]"),
        ("dict", "dict"),
    ],
)
def test_types_are_canonicalised(written: str, canonical: str) -> None:
    signature = parse_signature(f"x: {written} -> y")

    assert signature.inputs[0].type == canonical
    assert parse_signature(signature.to_spec()) == signature


def test_literal_values_keep_their_kind() -> None:
    assert parse_type("Literal['1', 1, 1.5]") == LiteralType(("1", 1, 1.5))
    assert parse_type("list[list[bool]]") == ListType(ListType(ScalarType("bool")))


def test_round_trips_a_rich_signature() -> None:
    spec = (
        'question: str "what to answer", options: list[Literal[\'a\', "b\\"q"]], '
        "scores: list[list[float]], meta: dict, flag: bool, n: int "
        "-> answer: Literal[1, 2.5, 'x'] \"\", notes: list[str]"
    )

    signature = parse_signature(spec)

    assert parse_signature(signature.to_spec()) == signature
    assert signature.outputs[0].description == ""


# -- parse errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "code", "fragment"),
    [
        ("a, b", "syntax", "exactly one '->'"),
        ("a -> b -> c", "syntax", "found 2"),
        (" -> answer", "required", "at least one input"),
        ("question ->  ", "required", "at least one output"),
        ("a: list[int -> b", "syntax", "unclosed '['"),
        ("a: int] -> b", "syntax", "unmatched ']'"),
        ('a "never closed -> b', "syntax", "unterminated string"),
        ("a: List[str] -> b", "unknown_type", "allowed types: str, int, float, bool, dict"),
        ("a: string -> b", "unknown_type", "unknown type 'string'"),
        ("a: list -> b", "syntax", "list[T]"),
        ("a: Literal[] -> b", "syntax", "at least one value"),
        ("a: Literal['x', 'x'] -> b", "duplicate", "'x' appears more than once"),
        ("a: Literal[1, 1.0] -> b", "duplicate", "appears more than once"),
        ("a: Literal[yes] -> b", "syntax", "quoted strings or numbers"),
        ("a: Literal[1e999] -> b", "syntax", "quoted strings or numbers"),
        ("a: int str -> b", "syntax", "unexpected 'str'"),
        ("a: -> b", "required", "type is required"),
        ('a: int "x" junk -> b', "syntax", "after the description"),
        ("a, , b -> c", "required", "input 2: name is required"),
        ("a -> b,", "required", "output 2: name is required"),
        ("1st -> b", "invalid_name", "not a valid identifier"),
        ("my field -> b", "invalid_name", "not a valid identifier"),
        ("class -> b", "invalid_name", "Python keyword"),
        ("_secret -> b", "invalid_name", "must not start with '_'"),
        ("a, a -> b", "duplicate", "input and output names must differ and be unique"),
        ("a -> a", "duplicate", "output 1 'a': duplicate name 'a'"),
    ],
)
def test_reports_each_parse_error(spec: str, code: str, fragment: str) -> None:
    problems = spec_problems(spec)

    assert len(problems) == 1, problems
    assert problems[0][0] == code
    assert fragment in problems[0][1]


def test_collects_every_field_problem_with_its_position() -> None:
    problems = spec_problems("a: List[str], class, ok, a -> _b: Literal[], ok2: int")

    assert problems == [
        ("unknown_type", "input 1 'a': unknown type 'List[str]'; allowed types: "
         "str, int, float, bool, dict, list[T], Literal[...]"),
        ("invalid_name", "input 2 'class': 'class' is a Python keyword"),
        ("duplicate", "input 4 'a': duplicate name 'a': "
         "input and output names must differ and be unique"),
        ("invalid_name", "output 1 '_b': '_b' must not start with '_'"),
        ("syntax", "output 1 '_b': Literal[...] needs at least one value"),
    ]  # fmt: skip


def test_error_message_is_readable() -> None:
    with pytest.raises(SignatureError, match=r"Invalid signature: input 1 'x': unknown type"):
        parse_signature("x: float32 -> y")


def test_limits_are_enforced() -> None:
    too_long = "a -> " + ", ".join(f"f{i}" for i in range(1000))
    assert len(too_long) > MAX_SPEC_LENGTH
    assert spec_problems(too_long)[0][0] == "too_long"

    many = ", ".join(f"f{i}" for i in range(MAX_FIELDS_PER_SIDE + 1)) + " -> out"
    assert spec_problems(many) == [
        ("too_many", f"at most 64 input fields are allowed, got {MAX_FIELDS_PER_SIDE + 1}")
    ]
    assert spec_problems("a" * 65 + " -> b")[0][0] == "invalid_name"
    assert spec_problems(f'a "{"d" * (MAX_DESCRIPTION_LENGTH + 1)}" -> b')[0][0] == "too_long"
    deep = "list[" * 9 + "int" + "]" * 9
    assert "nest at most" in spec_problems(f"a: {deep} -> b")[0][1]


def test_pathological_input_is_rejected_quickly() -> None:
    for spec in ("[" * 3999, "'" + "\\'" * 1999, "a:" + "list[" * 799, ", " * 1999):
        with pytest.raises(SignatureError):
            parse_signature(spec)


# -- building from fields ----------------------------------------------------------------------


def test_build_canonicalises_types_and_keeps_descriptions() -> None:
    signature = build_signature(
        [SignatureField("q", ' list[ Literal["a",2] ] ', "why")],
        [SignatureField("answer")],
    )

    assert signature.inputs == (SignatureField("q", "list[Literal['a', 2]]", "why"),)
    assert signature.to_spec() == "q: list[Literal['a', 2]] \"why\" -> answer: str"


def test_build_reports_problems_by_field_path() -> None:
    problems = build_problems(
        [SignatureField("a", "List[int]"), SignatureField("b"), SignatureField("")],
        [SignatureField("b", "Literal['x','x']"), SignatureField("for", "int", "d" * 1001)],
    )

    assert problems == [
        ("inputs.0.type", "unknown_type"),
        ("inputs.2.name", "required"),
        ("outputs.0.name", "duplicate"),
        ("outputs.0.type", "duplicate"),
        ("outputs.1.name", "invalid_name"),
        ("outputs.1.description", "too_long"),
    ]


def test_build_requires_fields_on_both_sides() -> None:
    assert build_problems([], []) == [("inputs", "required"), ("outputs", "required")]
    many = [SignatureField(f"f{i}") for i in range(MAX_FIELDS_PER_SIDE + 1)]
    assert build_problems([SignatureField("a")], many) == [("outputs", "too_many")]


def test_build_rejects_an_empty_type() -> None:
    assert build_problems([SignatureField("a", "")], [SignatureField("b")]) == [
        ("inputs.0.type", "required")
    ]


# -- round-trip property ------------------------------------------------------------------------

names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name)
)
literal_values = st.one_of(
    st.text(max_size=8),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
)
field_types: st.SearchStrategy[FieldType] = st.recursive(
    st.one_of(
        st.sampled_from(["str", "int", "float", "bool", "dict"]).map(ScalarType),
        st.lists(literal_values, min_size=1, max_size=4, unique=True).map(
            lambda values: LiteralType(tuple(values))
        ),
    ),
    lambda inner: inner.map(ListType),
    max_leaves=4,
)
descriptions = st.none() | st.text(max_size=40)


@st.composite
def signatures(draw: st.DrawFn) -> tuple[list[SignatureField], list[SignatureField]]:
    unique_names = draw(st.lists(names, min_size=2, max_size=8, unique=True))
    split = draw(st.integers(1, len(unique_names) - 1))
    fields = [
        SignatureField(name, format_type(draw(field_types)), draw(descriptions))
        for name in unique_names
    ]
    return fields[:split], fields[split:]


@settings(max_examples=200, deadline=None)
@given(signatures())
def test_built_signatures_round_trip_through_their_spec(
    sides: tuple[list[SignatureField], list[SignatureField]],
) -> None:
    built = build_signature(*sides)

    parsed = parse_signature(built.to_spec())

    assert parsed == built
    assert list(parsed.inputs + parsed.outputs) == sides[0] + sides[1]


@settings(max_examples=200, deadline=None)
@given(field_types)
def test_formatted_types_parse_back_to_the_same_values(field_type: FieldType) -> None:
    assert parse_type(format_type(field_type)) == field_type


# -- input validation ---------------------------------------------------------------------------

SIGNATURE = parse_signature(
    "text, count: int, ratio: float, flag: bool, meta: dict, grid: list[list[int]], "
    "mode: Literal['fast', 2] -> out"
)
VALID: dict[str, Any] = {
    "text": "hi",
    "count": 3,
    "ratio": 1,
    "flag": False,
    "meta": {"k": [1]},
    "grid": [[1, 2], []],
    "mode": 2,
}


def test_valid_inputs_have_no_problems() -> None:
    assert validate_inputs(SIGNATURE, VALID) == []
    assert validate_inputs(SIGNATURE, {**VALID, "ratio": 0.5, "mode": "fast"}) == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("text", None, "expected str, got null"),
        ("text", 5, "expected str, got int"),
        ("count", True, "expected int, got bool"),
        ("count", 1.0, "expected int, got float"),
        ("ratio", False, "expected float, got bool"),
        ("ratio", "0.5", "expected float, got str"),
        ("ratio", math.inf, "expected float, got non-finite float"),
        ("ratio", math.nan, "expected float, got non-finite float"),
        ("flag", 0, "expected bool, got int"),
        ("meta", [], "expected dict, got list"),
        ("meta", {1: "x"}, "expected dict, got dict with non-string keys"),
        ("grid", [1], "item 0: expected list[int], got int"),
        ("grid", [[1], [2, "x"]], "item 1: item 1: expected int, got str"),
        ("grid", [[1], [True]], "item 1: item 0: expected int, got bool"),
        ("grid", "[[1]]", "expected list[list[int]], got str"),
        ("mode", "slow", "expected one of 'fast', 2, got 'slow'"),
        ("mode", "2", "expected one of 'fast', 2, got '2'"),
        ("mode", None, "expected one of 'fast', 2, got None"),
    ],
)
def test_reports_a_mistyped_input(name: str, value: Any, message: str) -> None:
    assert validate_inputs(SIGNATURE, {**VALID, name: value}) == [
        FieldProblem(f"inputs.{name}", message, "type")
    ]


def test_orders_missing_and_mistyped_by_signature_then_unknown_as_given() -> None:
    inputs = {"zeta": 1, "flag": "yes", "alpha": 2, "text": "ok", "count": "3"}

    problems = validate_inputs(SIGNATURE, inputs)

    assert problems == [
        FieldProblem("inputs.count", "expected int, got str", "type"),
        FieldProblem("inputs.ratio", "missing 'ratio'", "missing"),
        FieldProblem("inputs.flag", "expected bool, got str", "type"),
        FieldProblem("inputs.meta", "missing 'meta'", "missing"),
        FieldProblem("inputs.grid", "missing 'grid'", "missing"),
        FieldProblem("inputs.mode", "missing 'mode'", "missing"),
        FieldProblem("inputs.zeta", "unknown 'zeta'", "unknown"),
        FieldProblem("inputs.alpha", "unknown 'alpha'", "unknown"),
    ]


def test_literal_check_does_not_confuse_bools_with_numbers() -> None:
    assert check_value(parse_type("Literal[1, 0]"), True) is not None
    assert check_value(parse_type("Literal[1, 0]"), 1.0) is None
    long_value = "x" * 100
    message = check_value(parse_type("Literal['a']"), long_value)
    assert message is not None
    assert message.endswith("...")
    assert len(message) < 80
