"""Quality landscapes: how good a configuration is, as a known function, for offline optimization.

The mock adapter answers a training example correctly with probability `p(configuration)` when
its configuration holds a `landscape` object, so an optimizer has something real to find:

    >>> landscape = parse_landscape(
    ...     {"kind": "distance", "optimum": {"temperature": 0.7, "model": "gpt-4"}, "width": 0.5}
    ... )
    >>> landscape.probability({"temperature": 0.7, "model": "gpt-4"})
    1.0
    >>> round(landscape.probability({"temperature": 1.2, "model": "gpt-4"}), 4)  # d = 0.5
    0.6065
    >>> round(landscape.objective({"temperature": 1.2, "model": "gpt-3.5"}), 4)  # d = √1.25
    1.118

Kinds:

- `{"kind": "distance", "optimum": {...}, "scale": {...}?, "width": 0.5?}`:
  `p = exp(-d² / (2·width²))`, `d² = Σ` over the optimum's keys of the per-variable distance
  squared: `(x - optimum) / scale` for numbers (scale 1 unless given), else 0 when equal and 1 when
  not (JSON equality: `1 != True`); a key missing from the configuration is at distance 1.
  `objective` is `d`, minimum 0.
- `{"kind": "branin", "x": "x1", "y": "x2", "tau": 10?}`: Branin-Hoo on x ∈ [-5, 10],
  y ∈ [0, 15]; `p = exp(-(f - BRANIN_MINIMUM) / tau)`; `objective` is `f`.
- `{"kind": "hartmann6", "variables": ["x1", ..., "x6"], "tau": 1?}`: Hartmann-6 on [0, 1]⁶;
  `p = exp(-(f - HARTMANN6_MINIMUM) / tau)`; `objective` is `f`.

Every kind also takes `"seed"` (an integer, default 0): it picks which examples are easy, not how
many. Regret of a configuration is `landscape.objective(configuration) - landscape.minimum`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeGuard

BRANIN_MINIMUM = 0.397887
"""At (-π, 12.275), (π, 2.275) and (9.42478, 2.475)."""
BRANIN_DOMAIN: dict[str, tuple[float, float]] = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}

HARTMANN6_MINIMUM = -3.32237
"""At (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)."""
HARTMANN6_DOMAIN: dict[str, tuple[float, float]] = {f"x{i}": (0.0, 1.0) for i in range(1, 7)}

_BRANIN_B = 5.1 / (4 * math.pi**2)
_BRANIN_C = 5 / math.pi
_BRANIN_T = 1 / (8 * math.pi)

_HARTMANN6_ALPHA = (1.0, 1.2, 3.0, 3.2)
_HARTMANN6_A = (
    (10.0, 3.0, 17.0, 3.5, 1.7, 8.0),
    (0.05, 10.0, 17.0, 0.1, 8.0, 14.0),
    (3.0, 3.5, 1.7, 10.0, 17.0, 8.0),
    (17.0, 8.0, 0.05, 10.0, 0.1, 14.0),
)
_HARTMANN6_P = tuple(
    tuple(value * 1e-4 for value in row)
    for row in (
        (1312, 1696, 5569, 124, 8283, 5886),
        (2329, 4135, 8307, 3736, 1004, 9991),
        (2348, 1451, 3522, 2883, 3047, 6650),
        (4047, 8828, 8732, 5743, 1091, 381),
    )
)


def branin(x: float, y: float) -> float:
    """Branin-Hoo: `branin(0, 0) == 36 + 10 * (1 - 1 / (8π)) + 10 ≈ 55.6021`."""
    return (y - _BRANIN_B * x**2 + _BRANIN_C * x - 6) ** 2 + 10 * (1 - _BRANIN_T) * math.cos(x) + 10


def hartmann6(xs: Sequence[float]) -> float:
    """Hartmann-6: `-Σᵢ αᵢ · exp(-Σⱼ Aᵢⱼ (xⱼ - Pᵢⱼ)²)` over six coordinates."""
    if len(xs) != 6:
        raise ValueError(f"hartmann6 takes 6 coordinates, not {len(xs)}")
    return -sum(
        alpha * math.exp(-sum(a * (x - p) ** 2 for a, x, p in zip(row_a, xs, row_p, strict=True)))
        for alpha, row_a, row_p in zip(_HARTMANN6_ALPHA, _HARTMANN6_A, _HARTMANN6_P, strict=True)
    )


def is_number(value: Any) -> TypeGuard[float]:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_positive(value: Any) -> bool:
    return is_number(value) and value > 0


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _clamp(p: float) -> float:
    return min(1.0, max(0.0, p))


# -- landscapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landscape:
    """A configuration's quality: `probability` of answering an example right, in [0, 1]."""

    kind: ClassVar[str]
    minimum: ClassVar[float]
    seed: int = 0

    def objective(self, configuration: Mapping[str, Any]) -> float:
        """The raw function value (lower is better); at least `minimum`."""
        raise NotImplementedError

    def probability(self, configuration: Mapping[str, Any]) -> float:
        raise NotImplementedError

    @property
    def domain(self) -> dict[str, tuple[float, float]]:
        """The search box, by configuration key; empty when the landscape has none."""
        return {}


@dataclass(frozen=True)
class DistanceLandscape(Landscape):
    kind: ClassVar[str] = "distance"
    minimum: ClassVar[float] = 0.0
    optimum: Mapping[str, Any] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)
    width: float = 0.5

    def objective(self, configuration: Mapping[str, Any]) -> float:
        return math.sqrt(sum(self._distance(key, configuration) ** 2 for key in self.optimum))

    def probability(self, configuration: Mapping[str, Any]) -> float:
        return _clamp(math.exp(-(self.objective(configuration) ** 2) / (2 * self.width**2)))

    def _distance(self, key: str, configuration: Mapping[str, Any]) -> float:
        if key not in configuration:
            return 1.0
        value, best = configuration[key], self.optimum[key]
        if is_number(value) and is_number(best):
            return float(value - best) / self.scale.get(key, 1.0)
        return 0.0 if _json(value) == _json(best) else 1.0


@dataclass(frozen=True)
class _FunctionLandscape(Landscape):
    """`p = exp(-(f - minimum) / tau)` of a test function of some numeric variables."""

    tau: float = 1.0

    @property
    def variables(self) -> tuple[str, ...]:
        raise NotImplementedError

    def values(self, configuration: Mapping[str, Any]) -> list[float]:
        values = []
        for name in self.variables:
            value = configuration.get(name)
            if not is_number(value):
                raise ValueError(f"landscape variable {name!r} is missing or not a number")
            values.append(float(value))
        return values

    def probability(self, configuration: Mapping[str, Any]) -> float:
        return _clamp(math.exp(-(self.objective(configuration) - self.minimum) / self.tau))


@dataclass(frozen=True)
class BraninLandscape(_FunctionLandscape):
    kind: ClassVar[str] = "branin"
    minimum: ClassVar[float] = BRANIN_MINIMUM
    x: str = "x1"
    y: str = "x2"
    tau: float = 10.0

    @property
    def variables(self) -> tuple[str, ...]:
        return (self.x, self.y)

    @property
    def domain(self) -> dict[str, tuple[float, float]]:
        return {self.x: BRANIN_DOMAIN["x1"], self.y: BRANIN_DOMAIN["x2"]}

    def objective(self, configuration: Mapping[str, Any]) -> float:
        return branin(*self.values(configuration))


@dataclass(frozen=True)
class Hartmann6Landscape(_FunctionLandscape):
    kind: ClassVar[str] = "hartmann6"
    minimum: ClassVar[float] = HARTMANN6_MINIMUM
    names: tuple[str, ...] = tuple(HARTMANN6_DOMAIN)
    tau: float = 1.0

    @property
    def variables(self) -> tuple[str, ...]:
        return self.names

    @property
    def domain(self) -> dict[str, tuple[float, float]]:
        return dict.fromkeys(self.names, (0.0, 1.0))

    def objective(self, configuration: Mapping[str, Any]) -> float:
        return hartmann6(self.values(configuration))


# -- parsing ------------------------------------------------------------------------------------

_KEYS = {
    "distance": {"optimum", "scale", "width"},
    "branin": {"x", "y", "tau"},
    "hartmann6": {"variables", "tau"},
}


def parse_landscape(value: Any) -> Landscape:
    """A landscape from its configuration object; a ValueError names the first problem."""
    if not isinstance(value, Mapping):
        raise ValueError("landscape must be an object")
    kind = value.get("kind")
    if kind not in _KEYS:
        kinds = ", ".join(repr(name) for name in sorted(_KEYS))
        raise ValueError(f"landscape.kind must be one of {kinds}, not {kind!r}")
    if unknown := sorted(set(value) - _KEYS[kind] - {"kind", "seed"}):
        raise ValueError(f"landscape of kind {kind!r} has unknown keys: {', '.join(unknown)}")
    seed = value.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError("landscape.seed must be an integer")
    tau = value.get("tau", 10.0 if kind == "branin" else 1.0)
    if not _is_positive(tau):
        raise ValueError("landscape.tau must be a number > 0")
    if kind == "distance":
        return _parse_distance(value, seed)
    if kind == "branin":
        for key in ("x", "y"):
            if not _is_name(value.get(key)):
                raise ValueError(f"landscape.{key} must name a configuration variable")
        return BraninLandscape(seed=seed, x=value["x"], y=value["y"], tau=float(tau))
    names = value.get("variables")
    if not isinstance(names, list) or len(names) != 6 or not all(map(_is_name, names)):
        raise ValueError("landscape.variables must be a list of 6 configuration variable names")
    return Hartmann6Landscape(seed=seed, names=tuple(names), tau=float(tau))


def _parse_distance(value: Mapping[str, Any], seed: int) -> DistanceLandscape:
    optimum = value.get("optimum")
    if not isinstance(optimum, Mapping) or not optimum:
        raise ValueError("landscape.optimum must be a non-empty object")
    width = value.get("width", 0.5)
    if not _is_positive(width):
        raise ValueError("landscape.width must be a number > 0")
    scale = value.get("scale", {})
    if not isinstance(scale, Mapping):
        raise ValueError("landscape.scale must be an object")
    for key, factor in scale.items():
        if key not in optimum or not is_number(optimum[key]):
            raise ValueError(f"landscape.scale.{key} must scale a numeric optimum value")
        if not _is_positive(factor):
            raise ValueError(f"landscape.scale.{key} must be a number > 0")
    return DistanceLandscape(
        seed=seed,
        optimum=dict(optimum),
        scale={key: float(factor) for key, factor in scale.items()},
        width=float(width),
    )
