"""What a variable space is, once validated: typed variables with domains, and dependencies.

    space = SearchSpace(
        variables=(
            Variable("temperature", VariableType.FLOAT, FloatRange(0.0, 1.5), default=0.7),
            Variable("retriever", VariableType.CHOICE, Choices(("bm25", "dense"))),
            Variable("top_k", VariableType.INTEGER, IntRange(1, 20)),
        ),
        dependencies=(Dependency("top_k", depends_on="retriever", values=("dense",)),),
    )

`top_k` is active only when `retriever` is "dense"; an inactive variable is absent from a
configuration. Raw JSON is turned into these by `parsing.build_space`, which reports problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class VariableType(StrEnum):
    FLOAT = "FLOAT"
    INTEGER = "INTEGER"
    CHOICE = "CHOICE"
    MODULE = "MODULE"
    BOOLEAN = "BOOLEAN"


@dataclass(frozen=True)
class FloatRange:
    min: float
    max: float
    step: float | None = None
    log: bool = False


@dataclass(frozen=True)
class IntRange:
    min: int
    max: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class Choices:
    """CHOICE choices, MODULE modules, or BOOLEAN's (False, True); JSON values, in order."""

    values: tuple[Any, ...]


Domain = FloatRange | IntRange | Choices


@dataclass(frozen=True)
class Variable:
    name: str
    type: VariableType
    domain: Domain
    default: Any = None
    description: str | None = None

    def constraints(self) -> dict[str, Any]:
        """The API shape: `{min,max,step,log}`, `{choices:[...]}` or `{modules:[...]}`."""
        domain = self.domain
        if isinstance(domain, Choices):
            key = "modules" if self.type == VariableType.MODULE else "choices"
            return {} if self.type == VariableType.BOOLEAN else {key: list(domain.values)}
        shape: dict[str, Any] = {"min": domain.min, "max": domain.max, "log": domain.log}
        if domain.step is not None:
            shape["step"] = domain.step
        return shape


@dataclass(frozen=True)
class Dependency:
    """`variable` is active only when `depends_on` is active and its value is one of `values`."""

    variable: str
    depends_on: str
    values: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "dependsOn": self.depends_on,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class SearchSpace:
    variables: tuple[Variable, ...]
    dependencies: tuple[Dependency, ...] = ()

    def variable(self, name: str) -> Variable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.variables)


Configuration = Mapping[str, Any]
