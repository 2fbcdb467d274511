"""Checks shared by services; each returns a `FieldProblem` list (empty when fine)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from dspex_gql.errors import FieldProblem

VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+\-]{0,49}$")
SEEDS = range(2**32)
"""Seeds go to numpy and Optuna, which take 0 <= seed < 2**32."""


def text(
    field: str, value: str | None, *, max_length: int, required: bool = False
) -> list[FieldProblem]:
    if value is None or not value.strip():
        return [FieldProblem(field, "must not be empty", "required")] if required else []
    if len(value) > max_length:
        return [FieldProblem(field, f"must be at most {max_length} characters", "too_long")]
    return []


def version(field: str, value: str) -> list[FieldProblem]:
    if VERSION.match(value):
        return []
    return [FieldProblem(field, "must look like 1.0.0 (letters, digits, '.', '-', '+')", "invalid")]


def json_object(field: str, value: Any, *, max_bytes: int | None = None) -> list[FieldProblem]:
    if not isinstance(value, dict):
        return [FieldProblem(field, "must be a JSON object", "type")]
    return [] if max_bytes is None else json_size(field, value, max_bytes=max_bytes)


def seed(field: str, value: int | None) -> list[FieldProblem]:
    if value is None or value in SEEDS:
        return []
    return [FieldProblem(field, f"must be between 0 and {SEEDS[-1]}", "out_of_range")]


def tags(field: str, value: list[str]) -> list[FieldProblem]:
    if len(value) > 50:
        return [FieldProblem(field, "at most 50 tags", "too_many")]
    bad = [tag for tag in value if not tag.strip() or len(tag) > 64]
    if bad:
        return [FieldProblem(field, "tags must be 1 to 64 characters", "invalid")]
    return []


def json_size(field: str, value: Any, *, max_bytes: int) -> list[FieldProblem]:
    """Bytes of compact UTF-8 JSON, as JSON columns store it."""
    if len(_compact_json(value)) > max_bytes:
        return [FieldProblem(field, f"must be at most {max_bytes} bytes of JSON", "too_large")]
    return []


def _compact_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=str)
    except TypeError:  # what orjson refuses: integers past 64 bits, non-string keys
        return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False).encode(
            errors="surrogatepass"
        )
