"""OpenTelemetry traces of GraphQL operations, SQL statements and language model calls, sent to
an OTLP/HTTP collector (`DSPEX_OTEL_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`) when the optional
packages are installed (`pip install dspex-gql[otel]`); otherwise every span is a no-op.

    tracing = start_tracing(settings.tracing)
    with tracing.span("lm.call", {"lm.model": "gpt-4o-mini"}) as span: ...
    tracing.instrument(engine)        # a span per SQL statement

The provider is the app's own, not OpenTelemetry's global one: tests build many apps.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from dspex_gql.config import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

logger = logging.getLogger(__name__)

Attributes = Mapping[str, str | int | float | bool]
MISSING = (
    "DSPEX_OTEL_ENDPOINT is set but OpenTelemetry is not installed: no traces are sent "
    "(pip install 'dspex-gql[otel]')"
)
SPAN_KEY = "dspex_otel_span"
_CTE_TOKENS = re.compile(r"[()]|\b(?:SELECT|INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
NO_SPAN: AbstractContextManager[None] = nullcontext()


class Tracing:
    def __init__(self, tracer: Tracer | None = None, shutdown: Any = None) -> None:
        self._tracer = tracer
        self._shutdown = shutdown

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def span(
        self, name: str, attributes: Attributes | None = None
    ) -> AbstractContextManager[Span | None]:
        """A span around the block, the current one inside it (None when tracing is off)."""
        if self._tracer is None:
            return NO_SPAN
        return self._tracer.start_as_current_span(name, attributes=attributes)

    def instrument(self, engine: AsyncEngine) -> None:
        """A span for each statement `engine` executes, a child of the span current then."""
        if self._tracer is None:
            return
        tracer = self._tracer
        dialect = engine.dialect.name

        def before(_c: Any, _cursor: Any, statement: str, _p: Any, context: Any, _m: Any) -> None:
            attributes = {"db.system": dialect, "db.statement": statement[:2000]}
            name = statement_operation(statement)
            context.__dict__[SPAN_KEY] = tracer.start_span(name, attributes=attributes)

        def after(_c: Any, _cursor: Any, _s: str, _p: Any, context: Any, _m: Any) -> None:
            span = context.__dict__.pop(SPAN_KEY, None)
            if span is not None:
                span.end()

        def failed(exception_context: Any) -> None:
            context = exception_context.execution_context
            span = context and context.__dict__.pop(SPAN_KEY, None)
            if span is not None:
                span.record_exception(exception_context.original_exception)
                span.end()

        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", before)
        event.listen(sync_engine, "after_cursor_execute", after)
        event.listen(sync_engine, "handle_error", failed)

    def shutdown(self) -> None:
        """Send what is still buffered, then stop."""
        if self._shutdown is not None:
            self._shutdown()


def statement_operation(statement: str) -> str:
    """A statement's span name: its first word, but for a `WITH` the operation of the statement
    its CTEs serve (`WITH written_0 AS (INSERT …) INSERT …` is an INSERT)."""
    first = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
    if first != "WITH":
        return first
    depth = 0
    for token in _CTE_TOKENS.finditer(statement):
        if token[0] in "()":
            depth += 1 if token[0] == "(" else -1
        elif depth == 0:
            return token[0].upper()
    return first


def start_tracing(settings: TracingSettings, exporter: SpanExporter | None = None) -> Tracing:
    """Tracing to `settings.endpoint` (or to `exporter`, for tests); off without either."""
    if settings.endpoint is None and exporter is None:
        return Tracing()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = exporter or _otlp_exporter(settings)
    except ImportError:
        logger.warning(MISSING)
        return Tracing()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    logger.info("traces go to %s", settings.endpoint or type(exporter).__name__)
    return Tracing(provider.get_tracer("dspex_gql"), provider.shutdown)


def _otlp_exporter(settings: TracingSettings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = str(settings.endpoint).rstrip("/")
    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
