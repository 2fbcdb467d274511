"""OpenTelemetry traces (the optional `otel` extra): a span per GraphQL operation, with the SQL
statements and language model calls it caused inside it; sent over OTLP/HTTP by a served process
when DSPEX_OTEL_ENDPOINT is set."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from dspex_gql.app import create_app
from dspex_gql.config import Settings, TracingSettings
from dspex_gql.observability import start_tracing
from dspex_gql.observability.tracing import statement_operation
from tests.support.factories import create_program
from tests.support.http_client import GraphQLClient
from tests.support.processes import Server, clean_env, free_port
from tests.support.tenants import new_tenant

EXECUTE = """mutation Run($input: ExecuteProgramInput!) {
  executeProgram(input: $input) { ... on Execution { id status } } }"""


async def traced(settings: Settings, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """The spans of one execution run through the app (all sent once the app stops)."""
    tracing = start_tracing(TracingSettings(), exporter)
    app = create_app(settings, tracing=tracing)
    async with app.router.lifespan_context(app):
        tenant = await new_tenant(app)
        async with GraphQLClient.for_app(app, tenant.admin_key) as client:
            program = await create_program(client, configuration={"model": "traced-model"})
            given = {"programId": program["id"], "inputs": {"question": "?"}, "wait": True}
            data = await client.data(EXECUTE, input=given)
    assert data["executeProgram"]["status"] == "COMPLETED"
    return list(exporter.get_finished_spans())


class TestSpans:
    async def test_an_operation_holds_its_sql_and_its_language_model_call(
        self, settings: Settings
    ) -> None:
        spans = await traced(settings, InMemorySpanExporter())

        [operation] = [span for span in spans if span.name == "graphql mutation Run"]
        assert operation.attributes is not None
        assert operation.attributes["graphql.operation.type"] == "mutation"
        # in its trace: the app may also resume runs other tests' apps left behind
        [call] = [s for s in spans if s.name == "lm.call" and _trace(s) == _trace(operation)]
        assert call.attributes is not None
        assert call.attributes["lm.model"] == "traced-model"
        assert int(str(call.attributes["lm.prompt_tokens"])) > 0
        statements = [span for span in spans if span.name in ("SELECT", "INSERT", "UPDATE")]
        assert operation.context is not None
        inside = [span for span in statements if _parent(span) == operation.context.span_id]
        assert {span.name for span in inside} >= {"SELECT", "INSERT"}
        assert all(span.attributes and span.attributes["db.statement"] for span in inside)
        assert call.context is not None


@pytest.mark.parametrize(
    ("statement", "name"),
    [
        ("SELECT programs.id FROM programs", "SELECT"),
        ("update programs SET name = $1", "UPDATE"),
        # a start's rows written together (`db/bulk.insert_together`)
        (
            "WITH written_0 AS (INSERT INTO a (id) SELECT * FROM unnest($1::uuid[])) "
            "INSERT INTO b (id) SELECT * FROM unnest($2::uuid[])",
            "INSERT",
        ),
        ("WITH picked AS (SELECT id FROM a WHERE x IN (1, 2)) SELECT * FROM picked", "SELECT"),
        (
            "WITH RECURSIVE up(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM up) "
            "DELETE FROM a WHERE id IN (SELECT n FROM up)",
            "DELETE",
        ),
        ("", "SQL"),
    ],
)
def test_a_statement_span_is_named_by_its_operation(statement: str, name: str) -> None:
    assert statement_operation(statement) == name


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _trace(span: ReadableSpan) -> int:
    assert span.context is not None
    trace_id: int = span.context.trace_id
    return trace_id


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's trace endpoint: keeps the span names it is sent."""

    names: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.names.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[str]]]:
    names: list[str] = []
    handler = type("Handler", (Collector,), {"names": names})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", names
    server.shutdown()
    server.server_close()


class TestServedProcess:
    async def test_sends_spans_to_the_configured_collector(
        self, tmp_path: Path, collector: tuple[str, list[str]]
    ) -> None:
        endpoint, names = collector
        server = Server(tmp_path, clean_env(DSPEX_OTEL_ENDPOINT=endpoint))
        try:
            server.wait_ready()
            await server.graphql("query Traced { me { id } }")
        finally:
            server.stop()  # the service sends what it holds as it stops

        assert "graphql query Traced" in names
        assert "SELECT" in names

    def test_without_an_endpoint_nothing_is_traced(self) -> None:
        tracing = start_tracing(TracingSettings())

        assert not tracing.enabled
        with tracing.span("nothing") as span:
            assert span is None
