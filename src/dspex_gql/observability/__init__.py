"""Metrics (Prometheus), logs (one format, request ids) and traces (OpenTelemetry, optional)."""

from dspex_gql.observability.context import current_request_id, request_scope
from dspex_gql.observability.exposition import metrics_endpoint, metrics_listener
from dspex_gql.observability.logs import configure_logging
from dspex_gql.observability.metrics import Telemetry
from dspex_gql.observability.runtime_metrics import Sources
from dspex_gql.observability.tracing import Tracing, start_tracing

__all__ = [
    "Sources",
    "Telemetry",
    "Tracing",
    "configure_logging",
    "current_request_id",
    "metrics_endpoint",
    "metrics_listener",
    "request_scope",
    "start_tracing",
]
