"""What the metrics see of GraphQL: each operation's name, type and time; each error's code;
each open subscription."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from dspex_gql.graphql.context import Context
from dspex_gql.observability import Telemetry

INVALID = "invalid"
"""The type of an operation that could not be parsed or named."""
NO_CODE = "NONE"
"""The code label of errors without one: graphql-core's about the document (syntax, validation)."""


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            context = self.execution_context.context
            if isinstance(context, Context):
                seconds = time.perf_counter() - started
                telemetry = context.runtime.telemetry
                telemetry.operation(self.execution_context.operation_name, self._type(), seconds)

    def _type(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # no document, or no operation of that name: refused already
            return INVALID


def count_errors(telemetry: Telemetry, errors: list[GraphQLError]) -> None:
    for error in errors:
        code = (error.extensions or {}).get("code")
        telemetry.error(code if isinstance(code, str) else NO_CODE)


async def counted_subscription(
    results: AsyncGenerator[Any, None], telemetry: Telemetry
) -> AsyncGenerator[Any, None]:
    telemetry.subscriptions.inc()
    try:
        async with contextlib.aclosing(results):
            async for result in results:
                yield result
    finally:
        telemetry.subscriptions.dec()
