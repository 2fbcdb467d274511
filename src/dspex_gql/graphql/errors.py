"""Every error code clients see, the GraphQL error types, and the one place domain errors are
mapped to them.

A domain error has one code, whichever way it reaches a client. A mutation whose result union
has a member for it returns that member (the handlers below):

    {"__typename": "ValidationError", "code": "VALIDATION_FAILED", "fieldErrors": [...]}

anywhere else (queries, subscriptions, a whole operation refused) it is a top-level error:

    {"message": "...", "extensions": {"code": "VALIDATION_FAILED", "fieldErrors": [...]}}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import strawberry
from strawberry.types import Info

from dspex_gql import errors
from dspex_gql.ratelimit import RateLimited

VALIDATION_FAILED = "VALIDATION_FAILED"
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
FORBIDDEN = "FORBIDDEN"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
RATE_LIMITED = "RATE_LIMITED"
UNAUTHENTICATED = "UNAUTHENTICATED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
BAD_REQUEST = "BAD_REQUEST"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"

CODES: dict[type[errors.DomainError], str] = {
    errors.ValidationFailed: VALIDATION_FAILED,
    errors.NotFound: NOT_FOUND,
    errors.Conflict: CONFLICT,
    errors.Forbidden: FORBIDDEN,
    errors.QuotaExceeded: QUOTA_EXCEEDED,
    RateLimited: RATE_LIMITED,
}
MAPPED = tuple(CODES)
"""The domain errors clients see as they are; any other exception is masked."""


def code_of(error: errors.DomainError) -> str:
    return next(code for kind, code in CODES.items() if isinstance(error, kind))


def top_level_extensions(error: errors.DomainError) -> dict[str, Any]:
    """`{"code": "QUOTA_EXCEEDED", "limit": 60.0, "used": 61.5}`: the code, and the details a
    client needs that a top-level error has no fields for."""
    return {"code": code_of(error), **_details(error)}


def _details(error: errors.DomainError) -> dict[str, Any]:
    if isinstance(error, errors.ValidationFailed):
        return {"fieldErrors": [asdict(problem) for problem in error.problems]}
    if isinstance(error, RateLimited):
        return {"retryAfter": round(error.retry_after, 3)}
    if isinstance(error, errors.QuotaExceeded):
        return {"limit": error.limit, "used": error.used}
    return {}


@strawberry.interface(description="Every expected failure of a mutation implements Error.")
class Error:
    message: str
    code: str


@strawberry.type
class FieldError:
    field: str
    message: str
    code: str


@strawberry.type
class ValidationError(Error):
    field_errors: list[FieldError]


@strawberry.type(description="Also what another organization's resource looks like.")
class NotFoundError(Error):
    id: strawberry.ID = strawberry.field(description="The id that was asked for.")


@strawberry.type(description="An invalid state transition, or a duplicate.")
class ConflictError(Error):
    pass


@strawberry.type
class ForbiddenError(Error):
    pass


@strawberry.type
class QuotaExceededError(Error):
    limit: float
    used: float


def field_errors(problems: Iterable[errors.FieldProblem]) -> list[FieldError]:
    return [FieldError(field=p.field, message=p.message, code=p.code) for p in problems]


def validation_error(error: errors.ValidationFailed) -> ValidationError:
    return ValidationError(
        message=error.message, code=code_of(error), field_errors=field_errors(error.problems)
    )


class ValidationHandler(strawberry.ExceptionHandler[errors.ValidationFailed, ValidationError]):
    def handle(
        self, exception: errors.ValidationFailed, *, field: Any, info: Info
    ) -> ValidationError:
        return validation_error(exception)


class NotFoundHandler(strawberry.ExceptionHandler[errors.NotFound, NotFoundError]):
    def handle(self, exception: errors.NotFound, *, field: Any, info: Info) -> NotFoundError:
        id = strawberry.ID(exception.id or "")
        return NotFoundError(message=exception.message, code=code_of(exception), id=id)


class ConflictHandler(strawberry.ExceptionHandler[errors.Conflict, ConflictError]):
    def handle(self, exception: errors.Conflict, *, field: Any, info: Info) -> ConflictError:
        return ConflictError(message=exception.message, code=code_of(exception))


class ForbiddenHandler(strawberry.ExceptionHandler[errors.Forbidden, ForbiddenError]):
    def handle(self, exception: errors.Forbidden, *, field: Any, info: Info) -> ForbiddenError:
        return ForbiddenError(message=exception.message, code=code_of(exception))


class QuotaHandler(strawberry.ExceptionHandler[errors.QuotaExceeded, QuotaExceededError]):
    def handle(
        self, exception: errors.QuotaExceeded, *, field: Any, info: Info
    ) -> QuotaExceededError:
        return QuotaExceededError(
            message=exception.message,
            code=code_of(exception),
            limit=exception.limit,
            used=exception.used,
        )


EXCEPTION_HANDLERS = (
    ValidationHandler(),
    NotFoundHandler(),
    ConflictHandler(),
    ForbiddenHandler(),
    QuotaHandler(),
)
"""`RateLimited` has no union member: it is always a top-level error."""

ERROR_TYPES = (ValidationError, NotFoundError, ConflictError, ForbiddenError, QuotaExceededError)
