"""Text the databases can store. PostgreSQL refuses NUL (U+0000) in `text` and `jsonb`, and no
database can encode a lone surrogate (U+D800 to U+DFFF), which JSON lets a client write as
`"\\ud800"`. Both are refused at the edge, on every database alike.

    >>> find_unstorable({"tags": ["ok", "bad\\x00"]}, "$input")
    Unstorable(path='$input.tags[1]', problem='a NUL character (U+0000)')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Unstorable:
    path: str
    problem: str


def problem_in(text: str) -> str | None:
    """What makes `text` unstorable, or None: 'a lone surrogate (U+D800)'."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    character = ord(found.group())
    kind = "a NUL character" if character == 0 else "a lone surrogate"
    return f"{kind} (U+{character:04X})"


def printable(text: str) -> str:
    """`text` with its unstorable characters written as escapes, safe to echo in a message."""
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def find_unstorable(value: object, root: str) -> Unstorable | None:
    """The first string or object key in a JSON value that cannot be stored, with its path.

    A first pass joins every string and checks them at once, so the common case (nothing
    wrong) costs about one step per JSON node; iterative, so a deeply nested value cannot
    exhaust the stack."""
    if not _contains_unstorable(value):
        return None
    stack: list[tuple[object, str]] = [(value, root)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if (problem := problem_in(item)) is not None:
                return Unstorable(path, problem)
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and (problem := problem_in(key)) is not None:
                    return Unstorable(f"{path}.{printable(key)}", f"{problem} in a key")
            stack.extend((child, f"{path}.{key}") for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


def _contains_unstorable(value: object) -> bool:
    strings: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return not storable("".join(strings))


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
