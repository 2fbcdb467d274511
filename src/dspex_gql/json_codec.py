"""How JSON columns are written and read: orjson (a few times faster than the standard library,
which a DAG run's thousands of small JSON values feel), falling back to the standard library for
what orjson refuses (integers past 64 bits, lone surrogates, non-string keys)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # what the standard library wrote: NaN, say
