"""What the metrics cost: a `/metrics` scrape of 10,000 series, and the per-request hook.

    python -m bench.metrics_scrape [--database-url URL] [--series 10000] [--scrapes 50] \\
        [--requests 1000]                                                          # ~30 s

`scrape_ms`: the service (`create_app`, default settings, on loopback so `/metrics` needs no
token) with its registry filled through `Telemetry.operation` with as many distinct operation
names as make `--series` series (each name: 4 counter series and a 14-bucket histogram, 21
series), served by uvicorn as a task of this loop, `GET /metrics` over one keep-alive loopback
connection (`bench.httpclient`); `generate_latest` of the same registry alone. The service's
registry also has its other metrics (errors, LM use, subscriptions) and the runtime's (lanes,
run outcomes, pub/sub), read at each scrape.
Baseline, same run: a bare prometheus-client `CollectorRegistry` with the same two metrics, the
same labels and the same observations, served by a bare Starlette route the same way
(`generate_latest` per request, on the loop), and `generate_latest` of it alone. Scrapes alternate
between the two servers. `loop_stall_ms`: how late a 1 ms ticker on the loop got during each
scrape, longest per scrape (the service renders in a thread; the baseline on the loop).
`hook_us`: `Telemetry.operation` alone (a known name; timeit). `request_ms`: `{ me { id } }`
through the app in process (httpx ASGI transport), `--requests` times each with the
`OperationMetrics` extension's hook and with the base class's (which Strawberry skips),
alternating request by request.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import timeit
from typing import Any

import httpx2 as httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension

from bench.common import (
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    service_settings,
    summarize,
    versions,
)
from bench.httpclient import Connection, request_bytes
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.config import MetricsSettings, Settings
from dspex_gql.graphql.observation import OperationMetrics
from dspex_gql.observability import Telemetry
from dspex_gql.observability.metrics import LATENCY_BUCKETS
from dspex_gql.runtime import Runtime

SERIES_PER_NAME = 4 + len(LATENCY_BUCKETS) + 3  # 4 types; buckets, +Inf, _sum, _count
TYPES = ("query", "mutation", "subscription", "invalid")
SCRAPE = request_bytes("GET", "/metrics")


def names(series: int) -> list[str]:
    return [f"Operation{n}" for n in range(series // SERIES_PER_NAME + 1)]


def fill(telemetry: Telemetry, operation_names: list[str]) -> None:
    for n, name in enumerate(operation_names):
        telemetry.operation(name, TYPES[n % 2], 0.001 * (n % 200))


def raw_registry(operation_names: list[str]) -> CollectorRegistry:
    """The same two metrics, labels and observations, without the service."""
    registry = CollectorRegistry()
    operations = Counter("dspex_graphql_operations", "-", ["operation", "type"], registry=registry)
    durations = Histogram(
        "dspex_graphql_operation_duration_seconds", "-", ["operation"],
        buckets=LATENCY_BUCKETS, registry=registry,
    )  # fmt: skip
    for n, name in enumerate(operation_names):
        for kind in TYPES:
            operations.labels(name, kind)
        operations.labels(name, TYPES[n % 2]).inc()
        durations.labels(name).observe(0.001 * (n % 200))
    return registry


def raw_app(registry: CollectorRegistry) -> Starlette:
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=1.0.0")

    return Starlette(routes=[Route("/metrics", metrics)])


def count_samples(text: bytes) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))


def alone_ms(registries: dict[str, CollectorRegistry], number: int) -> dict[str, Any]:
    """`generate_latest` of each registry in turn, `number` times each."""
    samples: dict[str, list[float]] = {name: [] for name in registries}
    for _ in range(number):
        for name, registry in registries.items():
            started = time.perf_counter()
            generate_latest(registry)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: summarize(values) for name, values in samples.items()}


async def scrapes(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    operation_names = names(args.series)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        fill(runtime.telemetry, operation_names)
        raw = raw_registry(operation_names)
        async with serving(app, "off") as service_port, serving(raw_app(raw)) as raw_port:
            service, baseline = await Connection.open(service_port), await Connection.open(raw_port)
            try:
                return await _alternate(service, baseline, args.scrapes) | {
                    "generate_latest_alone": alone_ms(
                        {"service": runtime.telemetry.registry, "raw": raw}, args.scrapes
                    ),
                    "operation_names": len(operation_names),
                }
            finally:
                await service.close()
                await baseline.close()


class StallWatch:
    """A 1 ms ticker on the loop: how late it got, longest per window (`start` / `stop`)."""

    def __init__(self) -> None:
        self.current = 0.0
        self.windows: dict[str, list[float]] = {}

    async def tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            late = (time.perf_counter() - before - 0.001) * 1000
            self.current = max(self.current, late)

    def start(self) -> None:
        self.current = 0.0

    def stop(self, name: str) -> None:
        self.windows.setdefault(name, []).append(self.current)


async def _alternate(service: Connection, baseline: Connection, number: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"service": [], "raw": []}
    sizes: dict[str, int] = {}
    watch = StallWatch()
    ticker = asyncio.create_task(watch.tick())
    await asyncio.sleep(0.01)
    for n in range(2 * number):
        name, connection = ("service", service) if n % 2 == 0 else ("raw", baseline)
        watch.start()
        started = time.perf_counter()
        status, body = await connection.send(SCRAPE)
        times[name].append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.002)  # the tick that was late during the scrape comes back
        watch.stop(name)
        assert status == 200, body[:200]
        sizes[name] = count_samples(body)
    ticker.cancel()
    return {
        "http": {name: summarize(values) for name, values in times.items()},
        "loop_stall_ms": {name: summarize(ms) for name, ms in watch.windows.items()},
        "series": sizes,
    }


def hook_us(number: int = 100_000) -> float:
    telemetry = Telemetry()
    telemetry.operation("ListPrograms", "query", 0.001)
    seconds = timeit.timeit(
        lambda: telemetry.operation("ListPrograms", "query", 0.001), number=number
    )
    return round(seconds / number * 1e6, 2)


async def request_times(
    args: argparse.Namespace, settings: Settings, api_key: str
) -> dict[str, Any]:
    app = create_app(settings)
    hooks: dict[str, Any] = {
        "with_metrics": OperationMetrics.on_operation,
        "without_metrics": SchemaExtension.on_operation,
    }
    samples: dict[str, list[float]] = {phase: [] for phase in hooks}
    headers = {"authorization": f"Bearer {api_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for n in range(2 * args.requests + 40):
                phase = "with_metrics" if n % 2 == 0 else "without_metrics"
                OperationMetrics.on_operation = hooks[phase]  # type: ignore[method-assign]
                started = time.perf_counter()
                response = await http.post("/graphql", json={"query": "{ me { id } }"},
                                           headers=headers)  # fmt: skip
                if n >= 40:  # after a warm-up
                    samples[phase].append((time.perf_counter() - started) * 1000)
                assert "errors" not in response.json(), response.text
    OperationMetrics.on_operation = hooks["with_metrics"]  # type: ignore[method-assign]
    return {phase: summarize(values) for phase, values in samples.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        metrics = MetricsSettings(max_operation_names=args.series)
        settings = service_settings(database.url).model_copy(update={"metrics": metrics})
        scrape = await scrapes(args, settings)
        log(f"scrapes: {scrape['http']}")
        requests = await request_times(args, settings, organization.api_key)
        emit(
            {
                "benchmark": "metrics_scrape",
                "database": database.describe(),
                "scrape_ms": scrape,
                "hook_us": hook_us(),
                "request_ms": requests,
                "versions": versions("prometheus-client"),
                "machine": machine(),
            }
        )


if __name__ == "__main__":
    run(main)
