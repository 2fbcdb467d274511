"""Domain errors: typed, transport-free; `graphql/errors.py` maps them to their codes and GraphQL
error types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field, e.g. `FieldProblem("inputs.question", "missing")`."""

    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    def __init__(self, resource: str, id: object = None) -> None:
        super().__init__(f"{resource} not found")
        self.resource = resource
        self.id = None if id is None else str(id)


class ValidationFailed(DomainError):
    def __init__(self, problems: Iterable[FieldProblem], message: str | None = None) -> None:
        self.problems = tuple(problems)
        summary = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        super().__init__(message or f"Validation failed: {summary}")

    @classmethod
    def single(cls, field: str, message: str, code: str = "invalid") -> ValidationFailed:
        return cls([FieldProblem(field, message, code)])


class Conflict(DomainError):
    pass


class Forbidden(DomainError):
    pass


class QuotaExceeded(DomainError):
    def __init__(self, message: str, *, limit: float, used: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.used = used
