"""What each field of a language model must be. `problems(given)` checks the fields given
(Python names) and reports every problem at once, under the names the API uses (`baseUrl`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from dspex_gql import validation
from dspex_gql.audit.recorder import api_name, is_secret
from dspex_gql.errors import FieldProblem

MAX_NAME_LENGTH = 100
MAX_MODEL_LENGTH = 200
MAX_BASE_URL_LENGTH = 2_000
MAX_API_KEY_LENGTH = 4_096
MAX_DEFAULTS_BYTES = 65_536
MAX_CONCURRENCY = 1_000
MAX_REQUESTS_PER_MINUTE = 1_000_000
MAX_TEMPERATURE = 2
OWN_FIELDS = {"model": "model", "api_base": "baseUrl", "base_url": "baseUrl", "api_key": "apiKey"}
"""Request parameters a model has a field of its own for."""
NOT_NULL = frozenset({"name", "model", "defaults", "max_concurrency", "visibility"})

Check = Callable[[str, Any], list[FieldProblem]]


def problems(given: Mapping[str, Any]) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for name, value in given.items():
        field = api_name(name)
        if value is None and name in NOT_NULL:
            found.append(FieldProblem(field, "must not be null", "required"))
        elif name in CHECKS:
            found += CHECKS[name](field, value)
    return found


def _name(field: str, value: str) -> list[FieldProblem]:
    return validation.text(field, value, max_length=MAX_NAME_LENGTH, required=True)


def _model(field: str, value: str) -> list[FieldProblem]:
    if not value.strip():
        return [FieldProblem(field, "must not be empty", "required")]
    if len(value) > MAX_MODEL_LENGTH:
        return [FieldProblem(field, f"must be at most {MAX_MODEL_LENGTH} characters", "too_long")]
    provider, _, name = value.partition("/")
    if not provider or not name or _has_space(value):
        message = "must be provider/name without spaces, as DSPy spells it: openai/gpt-4o-mini"
        return [FieldProblem(field, message, "invalid")]
    return []


def _base_url(field: str, value: str | None) -> list[FieldProblem]:
    if value is None:
        return []
    if len(value) > MAX_BASE_URL_LENGTH:
        message = f"must be at most {MAX_BASE_URL_LENGTH} characters"
        return [FieldProblem(field, message, "too_long")]
    parts = _url_parts(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        message = "must be an http(s) URL, such as http://127.0.0.1:8000/v1"
        return [FieldProblem(field, message, "invalid")]
    if parts.username is not None or parts.password is not None:
        message = "must not hold credentials: send the key as apiKey, which is kept encrypted"
        return [FieldProblem(field, message, "secret")]
    return []


def _url_parts(text: str) -> SplitResult | None:
    """None for what is no URL at all: spaces, a bad port, an unclosed `[`."""
    if _has_space(text):
        return None
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        return None
    return parts


def _api_key(field: str, value: str | None) -> list[FieldProblem]:
    if value is None:
        return []
    if not value.strip():
        return [FieldProblem(field, "must not be empty: send null for no key", "required")]
    if len(value) > MAX_API_KEY_LENGTH:
        message = f"must be at most {MAX_API_KEY_LENGTH} characters"
        return [FieldProblem(field, message, "too_long")]
    return []


def _defaults(field: str, value: Any) -> list[FieldProblem]:
    found = validation.json_object(field, value, max_bytes=MAX_DEFAULTS_BYTES)
    if found:
        return found
    for key, parameter in value.items():
        found += _default(f"{field}.{key}", key, parameter)
    return found


def _default(field: str, key: str, value: Any) -> list[FieldProblem]:
    if key in OWN_FIELDS:
        message = f"is a field of its own: set {OWN_FIELDS[key]}"
        return [FieldProblem(field, message, "reserved")]
    if is_secret(key):
        message = "looks like a secret, and defaults are shown to readers: send it as apiKey"
        return [FieldProblem(field, message, "secret")]
    if key == "temperature":
        return _number_within(field, value, 0, MAX_TEMPERATURE)
    if key == "max_tokens":
        return _positive_integer(field, value)
    return []


def _number_within(field: str, value: Any, low: float, high: float) -> list[FieldProblem]:
    if not _is_number(value):
        message = f"must be a number from {low} to {high}, not {_json_type(value)}"
        return [FieldProblem(field, message, "type")]
    if not low <= value <= high:
        return [FieldProblem(field, f"must be from {low} to {high}", "out_of_range")]
    return []


def _positive_integer(field: str, value: Any) -> list[FieldProblem]:
    if not isinstance(value, int) or isinstance(value, bool):
        message = f"must be a positive integer, not {_json_type(value)}"
        return [FieldProblem(field, message, "type")]
    if value < 1:
        return [FieldProblem(field, "must be at least 1", "out_of_range")]
    return []


def _price(field: str, value: float | None) -> list[FieldProblem]:
    if value is None or value >= 0:
        return []
    return [FieldProblem(field, "must be at least 0 (or null: unknown)", "out_of_range")]


def _integer_within(low: int, high: int) -> Check:
    def check(field: str, value: int | None) -> list[FieldProblem]:
        if value is None or low <= value <= high:
            return []
        return [FieldProblem(field, f"must be from {low} to {high:,}", "out_of_range")]

    return check


CHECKS: dict[str, Check] = {
    "name": _name,
    "model": _model,
    "base_url": _base_url,
    "api_key": _api_key,
    "defaults": _defaults,
    "prompt_price_per_million": _price,
    "completion_price_per_million": _price,
    "max_concurrency": _integer_within(1, MAX_CONCURRENCY),
    "requests_per_minute": _integer_within(1, MAX_REQUESTS_PER_MINUTE),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    """`"hot"` → `a string`: how a client would name the JSON type it sent."""
    names = {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _has_space(text: str) -> bool:
    return any(character.isspace() for character in text)
