"""GraphQL error types, and the one place domain errors are mapped to them.

Mutations return unions such as `Program | ValidationError | NotFoundError`; the handlers below
turn a raised domain error into the union member. Anywhere else (queries, subscriptions) a domain
error becomes a top-level error whose `extensions.code` says what happened (see `security.py`).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from dspex_gql import errors


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


def field_errors(error: errors.ValidationFailed) -> list[FieldError]:
    return [FieldError(field=p.field, message=p.message, code=p.code) for p in error.problems]


class ValidationHandler(strawberry.ExceptionHandler[errors.ValidationFailed, ValidationError]):
    def handle(
        self, exception: errors.ValidationFailed, *, field: Any, info: Info
    ) -> ValidationError:
        return ValidationError(
            message=exception.message, code=exception.code, field_errors=field_errors(exception)
        )


class NotFoundHandler(strawberry.ExceptionHandler[errors.NotFound, NotFoundError]):
    def handle(self, exception: errors.NotFound, *, field: Any, info: Info) -> NotFoundError:
        id = strawberry.ID(exception.id or "")
        return NotFoundError(message=exception.message, code=exception.code, id=id)


class ConflictHandler(strawberry.ExceptionHandler[errors.Conflict, ConflictError]):
    def handle(self, exception: errors.Conflict, *, field: Any, info: Info) -> ConflictError:
        return ConflictError(message=exception.message, code=exception.code)


class ForbiddenHandler(strawberry.ExceptionHandler[errors.Forbidden, ForbiddenError]):
    def handle(self, exception: errors.Forbidden, *, field: Any, info: Info) -> ForbiddenError:
        return ForbiddenError(message=exception.message, code=exception.code)


class QuotaHandler(strawberry.ExceptionHandler[errors.QuotaExceeded, QuotaExceededError]):
    def handle(
        self, exception: errors.QuotaExceeded, *, field: Any, info: Info
    ) -> QuotaExceededError:
        return QuotaExceededError(
            message=exception.message,
            code=exception.code,
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

ERROR_TYPES = (ValidationError, NotFoundError, ConflictError, ForbiddenError, QuotaExceededError)
