"""Input the service can store. PostgreSQL refuses NUL (U+0000) in `text` and `jsonb`, no database
can encode a lone surrogate (U+D800 to U+DFFF), which JSON lets a client write as `"\\ud800"`,
and JSON nested deeper than `MAX_DEPTH` cannot be serialized again (for the audit log, the
database). All are refused at the edge, on every database alike.

What the service stores without a client having sent it cannot be refused: a language model's
answers, its traces and error messages, the programs DSPy compiles from them. `made_storable`
replaces such characters there with U+FFFD (REPLACEMENT CHARACTER), as a UTF-8 decoder does.

    >>> made_storable({"answer": "4\\x00"})
    {'answer': '4�'}
    >>> find_unstorable({"tags": ["ok", "bad\\x00"]}, "$input").path
    '$input.tags[1]'
    >>> find_unstorable({"tags": ["ok", "bad\\x00"]}, "$input").problem
    'contains a NUL character (U+0000)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar, cast

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
MAX_DEPTH = 200
"""As deep as graphql-core lets typed input values nest (its MAX_NESTING_DEPTH): JSON values
may nest as deep as any other input, no deeper."""


T = TypeVar("T")


@dataclass(frozen=True)
class Unstorable:
    path: str
    problem: str
    code: str


def problem_in(text: str) -> str | None:
    """What makes `text` unstorable, or None: 'contains a lone surrogate (U+D800)'."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    character = ord(found.group())
    kind = "a NUL character" if character == 0 else "a lone surrogate"
    return f"contains {kind} (U+{character:04X})"


def printable(text: str) -> str:
    """`text` with its unstorable characters written as escapes, safe to echo in a message."""
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def find_unstorable(value: object, root: str) -> Unstorable | None:
    """The first problem in a JSON value (a string or object key that cannot be stored, or too
    deep a nesting), with its path. A first pass joins every string and checks them at once, so
    the common case (nothing wrong) costs about one step per JSON node; iterative, so no value
    can exhaust the stack."""
    depth, strings = _depth_and_text(value)
    if depth > MAX_DEPTH:
        return Unstorable(root, f"is nested deeper than {MAX_DEPTH} levels", "too_deep")
    return None if storable(strings) else _first_unstorable_text(value, root)


def _depth_and_text(value: object) -> tuple[int, str]:
    """How deep `value` nests (MAX_DEPTH + 1 for anything deeper) and all its strings and keys,
    joined: `[["a"]]` is 2 deep."""
    strings: list[str] = []
    level, depth = [value], -1
    while level and depth < MAX_DEPTH:
        depth += 1
        deeper: list[object] = []
        for item in level:
            if isinstance(item, str):
                strings.append(item)
            elif isinstance(item, dict):
                deeper.extend(item)
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
        level = deeper
    return (MAX_DEPTH + 1 if level else depth), "".join(strings)


def _first_unstorable_text(value: object, root: str) -> Unstorable | None:
    stack: list[tuple[object, str]] = [(value, root)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if (problem := problem_in(item)) is not None:
                return Unstorable(path, problem, "invalid_text")
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and (problem := problem_in(key)) is not None:
                    key_path = f"{path}.{printable(key)}"
                    return Unstorable(key_path, f"{problem} in a key", "invalid_text")
            stack.extend((child, f"{path}.{key}") for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


def storable(text: str) -> bool:
    """At C speed: no NUL, and ASCII or encodable as UTF-8 (a lone surrogate is not)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def made_storable(value: T) -> T:
    """`value` (text or a JSON value) with each unstorable character replaced by U+FFFD; `value`
    itself when it has none, found in one pass over its strings, joined (the common case). Strings
    nested deeper than `MAX_DEPTH` are left as they are: such a value cannot be stored anyway."""
    if storable(_depth_and_text(value)[1]):
        return value
    return cast(T, _replaced(value, MAX_DEPTH))


def _replaced(value: object, depth: int) -> object:
    if isinstance(value, str):
        return UNSTORABLE.sub(REPLACEMENT, value)
    if depth == 0:
        return value
    if isinstance(value, dict):
        return {_replaced(key, 0): _replaced(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, depth - 1) for item in value]
    return value
