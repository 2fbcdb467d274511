"""Security extensions: depth, token and alias limits, and how errors are shown to clients.

Expected failures outside mutation unions (a bad cursor, an unknown subscription id) keep their
message and get `extensions.code` (the code `errors.py` gives them); an unavailable database or
pub/sub backend is `SERVICE_UNAVAILABLE` (retryable); anything unexpected is masked as
`Unexpected error (error id 3f2c…)` and logged with the same id and its traceback. Every error
carries the request's id (`extensions.requestId`, also the `X-Request-ID` header).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

from graphql import ASTValidationRule, GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from dspex_gql.config import GraphQLSettings
from dspex_gql.errors import DomainError
from dspex_gql.graphql.errors import (
    BAD_REQUEST,
    INTERNAL_SERVER_ERROR,
    MAPPED,
    top_level_extensions,
)
from dspex_gql.graphql.unavailable import unavailability, unavailable_extensions

logger = logging.getLogger("dspex_gql.errors")

REQUEST_ERRORS = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)
"""What Strawberry says about a request itself (`Unknown operation named "Foo".`): over HTTP a
400, over a websocket an operation's error with code BAD_REQUEST."""


def present(error: GraphQLError, request_id: str | None = None) -> GraphQLError:
    shown = _shown(error)
    if request_id is None:
        return shown
    return _copy(shown, shown.message, {**(shown.extensions or {}), "requestId": request_id})


def _shown(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if isinstance(original, MAPPED):
        return _expected(error, original)
    if isinstance(original, REQUEST_ERRORS):
        return _copy(error, error.message, {"code": BAD_REQUEST})
    if (message := unavailability(original)) is not None:
        logger.warning("%s at %s: %r", message, error.path, original)
        return _copy(error, message, unavailable_extensions())
    return _masked(error, original)


def _expected(error: GraphQLError, original: DomainError) -> GraphQLError:
    return _copy(error, original.message, top_level_extensions(original))


def _masked(error: GraphQLError, original: Exception) -> GraphQLError:
    error_id = uuid.uuid4().hex[:12]
    logger.error("unexpected error %s at %s", error_id, error.path, exc_info=original)
    extensions = {"code": INTERNAL_SERVER_ERROR, "errorId": error_id}
    return _copy(error, f"Unexpected error (error id {error_id})", extensions)


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ReportingParserCache(ParserCache):
    """Strawberry's `ParserCache` parses before the parsing step's error handling: over a
    websocket, a syntax error (or too many tokens) then ended the operation with a bare
    `complete`. A document the cache cannot parse is left to Strawberry's own parse, which
    reports the error (graphql-transport-ws: close 4400 with the syntax error)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


def security_extensions(settings: GraphQLSettings) -> list[Callable[[], SchemaExtension]]:
    # The depth and alias rules are built once: validation results are cached per document
    # *and* rule classes, so rules made afresh for each request would never hit the cache.
    limits: list[type[ASTValidationRule]] = [
        depth_validator(settings.max_depth, None),
        aliases_validator(settings.max_aliases),
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limits),
        lambda: ReportingParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
