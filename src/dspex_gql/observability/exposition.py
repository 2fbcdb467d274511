"""`/metrics` on the API port, behind a bearer token (or, without one, on loopback only), or on
a listener of its own (`DSPEX_METRICS_PORT`) for a scraper on a private network."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from dspex_gql.config import MetricsSettings
from dspex_gql.observability.metrics import Telemetry

logger = logging.getLogger(__name__)

NEEDS_TOKEN = (
    "/metrics needs DSPEX_METRICS_TOKEN (sent as `Authorization: Bearer <token>`) when the "
    "server binds a non-loopback address; or serve it on DSPEX_METRICS_PORT"
)


def metrics_endpoint(
    telemetry: Telemetry, settings: MetricsSettings, on_loopback: bool
) -> Callable[[Request], Awaitable[Response]]:
    expected = None if settings.token is None else f"Bearer {settings.token.get_secret_value()}"

    async def metrics(request: Request) -> Response:
        if expected is None and not on_loopback:
            return PlainTextResponse(NEEDS_TOKEN, status_code=403)
        sent = request.headers.get("authorization", "")
        if expected is not None and not hmac.compare_digest(sent.encode(), expected.encode()):
            return PlainTextResponse(
                "a valid metrics token is required", 401, {"www-authenticate": "Bearer"}
            )
        # In a thread: 10,000 series take prometheus-client ~0.15 s here (bench/metrics_scrape.py),
        # which the event loop then shares instead of stalling for.
        text = await asyncio.to_thread(generate_latest, telemetry.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    return metrics


@contextmanager
def metrics_listener(telemetry: Telemetry, settings: MetricsSettings) -> Iterator[int]:
    """Serve the metrics on `settings.port` (in a thread) until the block exits; the port."""
    assert settings.port is not None
    server, thread = start_http_server(settings.port, settings.host, telemetry.registry)
    port: int = server.server_port
    logger.info("metrics served on http://%s:%s/metrics", settings.host, port)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
