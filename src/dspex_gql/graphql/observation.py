"""What the metrics see of GraphQL: each operation's name, type and time; each error's code.
Open subscriptions are counted where every subscription is wrapped already (`revocation.py`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from dspex_gql.graphql.context import Context
from dspex_gql.observability import Telemetry
from dspex_gql.observability.labels import ANONYMOUS

INVALID = "invalid"
"""The type of an operation that could not be parsed or named."""
NO_CODE = "NONE"
"""The code label of errors without one: graphql-core's about the document (syntax, validation)."""


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.counted:
            yield
            return
        telemetry = context.runtime.telemetry
        started = time.perf_counter()
        with telemetry.tracing.span("graphql") as span:
            try:
                yield
            finally:
                name, kind = self.execution_context.operation_name, self._type()
                telemetry.operation(name, kind, time.perf_counter() - started)
                if span is not None:
                    span.update_name(f"graphql {kind} {name or ANONYMOUS}")
                    span.set_attributes(_span_attributes(name, kind, context))

    def _type(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # no document, or no operation of that name: refused already
            return INVALID


def _span_attributes(name: str | None, kind: str, context: Context) -> dict[str, str]:
    return {
        "graphql.operation.name": name or ANONYMOUS,
        "graphql.operation.type": kind,
        "request.id": context.origin.request_id,
    }


def count_errors(telemetry: Telemetry, errors: list[GraphQLError]) -> None:
    for error in errors:
        code = (error.extensions or {}).get("code")
        telemetry.error(code if isinstance(code, str) else NO_CODE)
