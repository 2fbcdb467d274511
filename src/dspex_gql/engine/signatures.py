"""Signatures: parse and format specs, build them from fields, validate program inputs.

A spec reads `question: str, context: list[str] -> answer: str "one sentence"`.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from dspex_gql.engine.types import (
    FieldType,
    TypeSyntaxError,
    canonical_type,
    check_value,
    closing_quote,
    escape,
    parse_type,
    unescape,
)
from dspex_gql.errors import FieldProblem

MAX_SPEC_LENGTH = 4_000
MAX_FIELDS_PER_SIDE = 64
MAX_DESCRIPTION_LENGTH = 1_000
MAX_NAME_LENGTH = 64

Side = Literal["inputs", "outputs"]


@dataclass(frozen=True)
class SignatureField:
    name: str
    type: str = "str"
    description: str | None = None

    @property
    def field_type(self) -> FieldType:
        return parse_type(self.type)

    def to_spec(self) -> str:
        text = f"{self.name}: {self.type}"
        if self.description is not None:
            text += f' "{escape(self.description, chr(34))}"'
        return text


@dataclass(frozen=True)
class ParsedSignature:
    inputs: tuple[SignatureField, ...]
    outputs: tuple[SignatureField, ...]

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.inputs)

    @cached_property
    def output_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.outputs)

    @cached_property
    def input_types(self) -> Mapping[str, FieldType]:
        """Each input's name → its type (asked for at every DAG node that runs this program)."""
        return MappingProxyType({field.name: field.field_type for field in self.inputs})

    def to_spec(self) -> str:
        inputs = ", ".join(field.to_spec() for field in self.inputs)
        outputs = ", ".join(field.to_spec() for field in self.outputs)
        return f"{inputs} -> {outputs}"


class SignatureError(Exception):
    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(
            problem.message if problem.field == "spec" else f"{problem.field}: {problem.message}"
            for problem in self.problems
        )
        super().__init__(f"Invalid signature: {details}")


@dataclass(frozen=True)
class _RawField:
    side: Side
    index: int
    name: str
    type: str
    description: str | None
    syntax_error: str | None = None

    @property
    def position(self) -> str:
        """How a parse error names the field, e.g. `input 2 'context'`."""
        label = f"{self.side[:-1]} {self.index + 1}"
        return f"{label} '{self.name}'" if self.name else label


@dataclass(frozen=True)
class _Issue:
    field: _RawField
    part: str
    message: str
    code: str

    def in_spec(self) -> FieldProblem:
        return FieldProblem("spec", f"{self.field.position}: {self.message}", self.code)

    def in_fields(self) -> FieldProblem:
        path = f"{self.field.side}.{self.field.index}.{self.part}"
        return FieldProblem(path, self.message, self.code)


# -- parsing ------------------------------------------------------------------------------------


def parse_signature(spec: str) -> ParsedSignature:
    """Parse a spec; raises `SignatureError` whose problems all have field `"spec"`."""
    try:
        inputs, outputs = _split_spec(spec)
    except TypeSyntaxError as error:
        raise SignatureError([FieldProblem("spec", error.message, error.code)]) from None
    _raise_count_problems(len(inputs), len(outputs), in_spec=True)
    raw = [_read_field("inputs", index, text) for index, text in enumerate(inputs)]
    raw += [_read_field("outputs", index, text) for index, text in enumerate(outputs)]
    return _validated(raw, _Issue.in_spec)


def _split_spec(spec: str) -> tuple[list[str], list[str]]:
    if len(spec) > MAX_SPEC_LENGTH:
        raise TypeSyntaxError(f"spec must be at most {MAX_SPEC_LENGTH} characters", "too_long")
    arrows = [index for index, _ in _top_level(spec) if spec.startswith("->", index)]
    if len(arrows) != 1:
        raise TypeSyntaxError(
            f"expected exactly one '->' between inputs and outputs, found {len(arrows)}"
        )
    return _split_fields(spec[: arrows[0]]), _split_fields(spec[arrows[0] + 2 :])


def _top_level(text: str) -> Iterator[tuple[int, str]]:
    """Characters outside brackets; a quoted string yields only its opening quote."""
    depth, index = 0, 0
    while index < len(text):
        char = text[index]
        if char in "'\"":
            if depth == 0:
                yield index, char
            index = closing_quote(text, index)
        elif char in "[]":
            depth += 1 if char == "[" else -1
            if depth < 0:
                raise TypeSyntaxError(f"unmatched ']' at character {index + 1}")
        elif depth == 0:
            yield index, char
        index += 1
    if depth:
        raise TypeSyntaxError("unclosed '['")


def _split_fields(text: str) -> list[str]:
    if not text.strip():
        return []
    cuts = [index for index, char in _top_level(text) if char == ","]
    bounds = zip([-1, *cuts], [*cuts, len(text)], strict=True)
    return [text[start + 1 : end].strip() for start, end in bounds]


def _raise_count_problems(input_count: int, output_count: int, *, in_spec: bool) -> None:
    problems = []
    for side, count in (("inputs", input_count), ("outputs", output_count)):
        if count == 0:
            message = f"at least one {side[:-1]} field is required"
            problems.append(FieldProblem("spec" if in_spec else side, message, "required"))
        elif count > MAX_FIELDS_PER_SIDE:
            message = f"at most {MAX_FIELDS_PER_SIDE} {side[:-1]} fields are allowed, got {count}"
            problems.append(FieldProblem("spec" if in_spec else side, message, "too_many"))
    if problems:
        raise SignatureError(problems)


def _read_field(side: Side, index: int, text: str) -> _RawField:
    quote = next((i for i, char in _top_level(text) if char == '"'), len(text))
    name, colon, type_text = text[:quote].partition(":")
    type_text = type_text.strip() if colon else "str"
    try:
        description = _read_description(text[quote:].strip())
    except TypeSyntaxError as error:
        return _RawField(side, index, name.strip(), type_text, None, error.message)
    return _RawField(side, index, name.strip(), type_text, description)


def _read_description(text: str) -> str | None:
    if not text:
        return None
    end = closing_quote(text, 0)
    if text[end + 1 :].strip():
        raise TypeSyntaxError(f"unexpected '{text[end + 1 :].strip()}' after the description")
    return unescape(text[1:end])


# -- building and checking ----------------------------------------------------------------------


def build_signature(
    inputs: Sequence[SignatureField], outputs: Sequence[SignatureField]
) -> ParsedSignature:
    """Validate explicit fields and canonicalise their types.

    Problems name the field part, e.g. `FieldProblem("outputs.1.type", "unknown type ...")`.
    """
    _raise_count_problems(len(inputs), len(outputs), in_spec=False)
    raw = [_RawField("inputs", i, f.name, f.type, f.description) for i, f in enumerate(inputs)]
    raw += [_RawField("outputs", i, f.name, f.type, f.description) for i, f in enumerate(outputs)]
    return _validated(raw, _Issue.in_fields)


def _validated(
    raw: Sequence[_RawField], report: Callable[[_Issue], FieldProblem]
) -> ParsedSignature:
    seen: set[str] = set()
    issues: list[_Issue] = []
    for field in raw:
        issues.extend(_field_issues(field, seen))
        seen.add(field.name)
    if issues:
        raise SignatureError(map(report, issues))
    inputs = tuple(_canonical(field) for field in raw if field.side == "inputs")
    outputs = tuple(_canonical(field) for field in raw if field.side == "outputs")
    return ParsedSignature(inputs, outputs)


def _canonical(field: _RawField) -> SignatureField:
    return SignatureField(field.name, canonical_type(field.type), field.description)


def _field_issues(field: _RawField, seen: set[str]) -> Iterator[_Issue]:
    if field.syntax_error:
        yield _Issue(field, "description", field.syntax_error, "syntax")
    if problem := _name_problem(field.name):
        yield _Issue(field, "name", problem[0], problem[1])
    elif field.name in seen:
        message = f"duplicate name '{field.name}': input and output names must differ and be unique"
        yield _Issue(field, "name", message, "duplicate")
    try:
        canonical_type(field.type)
    except TypeSyntaxError as error:
        yield _Issue(field, "type", error.message, error.code)
    if field.description is not None and len(field.description) > MAX_DESCRIPTION_LENGTH:
        message = f"description must be at most {MAX_DESCRIPTION_LENGTH} characters"
        yield _Issue(field, "description", message, "too_long")


def _name_problem(name: str) -> tuple[str, str] | None:
    if not name:
        return "name is required", "required"
    if len(name) > MAX_NAME_LENGTH:
        return f"name must be at most {MAX_NAME_LENGTH} characters", "invalid_name"
    if not name.isidentifier():
        return f"'{name}' is not a valid identifier (letters, digits, '_')", "invalid_name"
    if keyword.iskeyword(name):
        return f"'{name}' is a Python keyword", "invalid_name"
    if name.startswith("_"):
        return f"'{name}' must not start with '_'", "invalid_name"
    return None


# -- inputs -------------------------------------------------------------------------------------


def validate_inputs(signature: ParsedSignature, inputs: Mapping[str, Any]) -> list[FieldProblem]:
    """Problems with a program's inputs: missing, mistyped (signature order), then unknown."""
    problems: list[FieldProblem] = []
    for field in signature.inputs:
        if field.name not in inputs:
            problems.append(
                FieldProblem(f"inputs.{field.name}", f"missing '{field.name}'", "missing")
            )
        elif problem := check_value(field.field_type, inputs[field.name]):
            problems.append(FieldProblem(f"inputs.{field.name}", problem, "type"))
    known = set(signature.input_names)
    problems.extend(
        FieldProblem(f"inputs.{name}", f"unknown '{name}'", "unknown")
        for name in inputs
        if name not in known
    )
    return problems
