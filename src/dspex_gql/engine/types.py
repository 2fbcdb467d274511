"""Field types of signatures: parse, format, and check values against them.

Grammar: `str | int | float | bool | dict | list[T] | Literal[v, ...]`, where each `v` is a
quoted string or a number, e.g. `list[Literal['yes', 'no']]`. Whitespace between tokens is free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

SCALAR_TYPES = ("str", "int", "float", "bool", "dict")
ALLOWED_TYPES = "str, int, float, bool, dict, list[T], Literal[...]"
MAX_NESTING = 8
QUOTES = "'\""

_INTEGER = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")

LiteralValue: TypeAlias = str | int | float


@dataclass(frozen=True)
class ScalarType:
    name: str


@dataclass(frozen=True)
class ListType:
    item: FieldType


@dataclass(frozen=True)
class LiteralType:
    values: tuple[LiteralValue, ...]


FieldType: TypeAlias = ScalarType | ListType | LiteralType


class TypeSyntaxError(ValueError):
    """A type string that is not in the grammar; `code` is a `FieldProblem` code."""

    def __init__(self, message: str, code: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def closing_quote(text: str, start: int) -> int:
    """Index of the quote closing the one at `start`; a backslash escapes the next character."""
    quote, index = text[start], start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == quote:
            return index
        else:
            index += 1
    raise TypeSyntaxError(f"unterminated string starting at character {start + 1}")


def unescape(text: str) -> str:
    r"""Drop each escaping backslash: `a\"b\\c` → `a"b\c`."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def escape(text: str, quote: str) -> str:
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote)


class _TypeReader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str, context: str) -> None:
        if self.peek() != char:
            raise TypeSyntaxError(f"expected '{char}' {context} in '{self.text}'")
        self.pos += 1

    def read_token(self) -> str:
        self.peek()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in "[],'\" \t\r\n":
            self.pos += 1
        return self.text[start : self.pos]

    def read_type(self, depth: int = 0) -> FieldType:
        if depth > MAX_NESTING:
            raise TypeSyntaxError(f"types may nest at most {MAX_NESTING} levels")
        name = self.read_token()
        if name in SCALAR_TYPES:
            return ScalarType(name)
        if name == "list":
            self.expect("[", "after list (write list[T])")
            item = self.read_type(depth + 1)
            self.expect("]", "to close list[")
            return ListType(item)
        if name == "Literal":
            return LiteralType(self.read_literal_values())
        raise TypeSyntaxError(
            f"unknown type '{self.text.strip()}'; allowed types: {ALLOWED_TYPES}", "unknown_type"
        )

    def read_literal_values(self) -> tuple[LiteralValue, ...]:
        self.expect("[", "after Literal (write Literal['a', 'b'])")
        if self.peek() == "]":
            raise TypeSyntaxError("Literal[...] needs at least one value")
        values = [self.read_literal_value()]
        while self.peek() == ",":
            self.pos += 1
            values.append(self.read_literal_value())
        self.expect("]", "to close Literal[")
        _reject_repeated(values)
        return tuple(values)

    def read_literal_value(self) -> LiteralValue:
        if (char := self.peek()) and char in QUOTES:
            end = closing_quote(self.text, self.pos)
            value = unescape(self.text[self.pos + 1 : end])
            self.pos = end + 1
            return value
        return _parse_number(self.read_token())


def _reject_repeated(values: list[LiteralValue]) -> None:
    seen: set[LiteralValue] = set()
    for value in values:
        if value in seen:
            message = f"Literal value {format_literal(value)} appears more than once"
            raise TypeSyntaxError(message, "duplicate")
        seen.add(value)


def _parse_number(token: str) -> int | float:
    if _INTEGER.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token) and math.isfinite(number := float(token)):
        return number
    shown = token or "nothing"
    raise TypeSyntaxError(f"Literal values must be quoted strings or numbers, got {shown}")


@lru_cache(maxsize=1024)
def parse_type(text: str) -> FieldType:
    """Parse a type string: `parse_type("list[int]") == ListType(ScalarType("int"))`."""
    if not text.strip():
        raise TypeSyntaxError("type is required", "required")
    reader = _TypeReader(text)
    field_type = reader.read_type()
    if reader.peek():
        raise TypeSyntaxError(f"unexpected '{text[reader.pos :]}' after type in '{text.strip()}'")
    return field_type


def format_type(field_type: FieldType) -> str:
    """Canonical text: `format_type(parse_type('Literal["a",1]')) == "Literal['a', 1]"`."""
    if isinstance(field_type, ListType):
        return f"list[{format_type(field_type.item)}]"
    if isinstance(field_type, LiteralType):
        return f"Literal[{', '.join(map(format_literal, field_type.values))}]"
    return field_type.name


def format_literal(value: LiteralValue) -> str:
    return f"'{escape(value, chr(39))}'" if isinstance(value, str) else repr(value)


def canonical_type(text: str) -> str:
    return format_type(parse_type(text))


def describe_value(value: Any) -> str:
    """The JSON-ish kind of a value, as used in messages: `None` → "null"."""
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "non-finite float"
    if isinstance(value, dict) and not all(isinstance(key, str) for key in value):
        return "dict with non-string keys"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALAR_CHECKS = {
    "str": lambda value: isinstance(value, str),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "float": lambda value: _is_number(value) and math.isfinite(value),
    "bool": lambda value: isinstance(value, bool),
    "dict": lambda value: isinstance(value, dict) and all(isinstance(k, str) for k in value),
}


def check_value(field_type: FieldType, value: Any) -> str | None:
    """Why `value` is not a `field_type`, or None when it is.

    `check_value(parse_type("list[int]"), [1, 2, "x"]) == "item 2: expected int, got str"`
    """
    if isinstance(field_type, ListType):
        return _check_list(field_type, value)
    if isinstance(field_type, LiteralType):
        return _check_literal(field_type, value)
    if _SCALAR_CHECKS[field_type.name](value):
        return None
    return f"expected {field_type.name}, got {describe_value(value)}"


def _check_list(field_type: ListType, value: Any) -> str | None:
    if not isinstance(value, list):
        return f"expected {format_type(field_type)}, got {describe_value(value)}"
    for index, item in enumerate(value):
        if problem := check_value(field_type.item, item):
            return f"item {index}: {problem}"
    return None


def _check_literal(field_type: LiteralType, value: Any) -> str | None:
    if (isinstance(value, str) or _is_number(value)) and value in field_type.values:
        return None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    allowed = ", ".join(map(format_literal, field_type.values))
    return f"expected one of {allowed}, got {shown}"
