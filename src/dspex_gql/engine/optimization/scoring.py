"""Metrics: how well one prediction matches its expected outputs, in [0, 1].

A metric takes `(outputs, expected)` and averages a per-field score over the expected fields; a
field missing from the outputs scores 0, and no expected field at all scores 0.

    exact_match({"answer": " Paris "}, {"answer": "paris"})  # 1.0

Packages add metrics through the `dspex_gql.metrics` entry point group, e.g.
`rouge = "my_package.metrics:rouge"` (a callable, or a class instantiated without arguments).
"""

from __future__ import annotations

import logging
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from dspex_gql.engine.adapters.registry import NotRegistered

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dspex_gql.metrics"

Metric = Callable[[Mapping[str, Any], Mapping[str, Any]], float]
FieldScore = Callable[[Any, Any], float]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def json_equal(left: Any, right: Any) -> bool:
    """JSON values compared by value; booleans are not numbers: `1 == 1.0` but `1 != True`."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


def normalize_text(text: str) -> str:
    """Stripped, case-folded, whitespace collapsed: `"  New\\n York "` → `"new york"`."""
    return " ".join(text.casefold().split())


def field_metric(score: FieldScore) -> Metric:
    """A metric averaging `score(output, expected)` over the expected fields."""

    def metric(outputs: Mapping[str, Any], expected: Mapping[str, Any]) -> float:
        if not expected:
            return 0.0
        total = sum(
            score(outputs[name], value) if name in outputs else 0.0
            for name, value in expected.items()
        )
        return total / len(expected)

    return metric


def exact_match_score(output: Any, expected: Any) -> float:
    if isinstance(output, str) and isinstance(expected, str):
        return float(normalize_text(output) == normalize_text(expected))
    return float(json_equal(output, expected))


def contains_score(output: Any, expected: Any) -> float:
    if isinstance(output, str) and isinstance(expected, str):
        return float(normalize_text(expected) in normalize_text(output))
    return float(json_equal(output, expected))


def f1_score(output: Any, expected: Any) -> float:
    """SQuAD-style: token overlap after lower-casing and removing punctuation and articles."""
    if not (isinstance(output, str) and isinstance(expected, str)):
        return float(json_equal(output, expected))
    predicted, gold = _tokens(output), _tokens(expected)
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def numeric_score(output: Any, expected: Any) -> float:
    """Closeness `max(0, 1 - |a - b| / max(|b|, 1e-9))`; numbers or numeric strings, else 0."""
    actual, target = _number(output), _number(expected)
    if actual is None or target is None:
        return 0.0
    return max(0.0, 1.0 - abs(actual - target) / max(abs(target), 1e-9))


exact_match = field_metric(exact_match_score)
contains = field_metric(contains_score)
f1 = field_metric(f1_score)
numeric = field_metric(numeric_score)

BUILT_IN: Mapping[str, Metric] = {
    "exact_match": exact_match,
    "contains": contains,
    "f1": f1,
    "numeric": numeric,
}


class MetricRegistry:
    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    @classmethod
    def default(cls, group: str = ENTRY_POINT_GROUP) -> MetricRegistry:
        """The built-ins plus every loadable entry point of `group`; a broken one is skipped."""
        registry = cls()
        for name, metric in BUILT_IN.items():
            registry.register(name, metric)
        for entry_point in entry_points(group=group):
            try:
                registry.register(entry_point.name, _instantiate(entry_point.load()))
            except Exception as error:
                logger.warning("Skipping metric %r: %s", entry_point.name, error)
        return registry

    def register(self, name: str, metric: Metric) -> None:
        if name in self._metrics:
            raise ValueError(f"a metric named '{name}' is already registered")
        self._metrics[name] = metric

    def get(self, name: str) -> Metric:
        try:
            return self._metrics[name]
        except KeyError:
            available = ", ".join(self.names()) or "none"
            raise NotRegistered(f"unknown metric '{name}'; available: {available}") from None

    def names(self) -> list[str]:
        return sorted(self._metrics)

    def __contains__(self, name: object) -> bool:
        return name in self._metrics


def _instantiate(loaded: Any) -> Metric:
    metric = loaded() if isinstance(loaded, type) else loaded
    if not callable(metric):
        raise TypeError(f"{metric!r} is not callable")
    return cast(Metric, metric)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not _is_number(value) or not math.isfinite(value):
        return None
    return float(value)


def _tokens(text: str) -> list[str]:
    return _ARTICLES.sub(" ", text.casefold().translate(_PUNCTUATION)).split()
