"""The dashboard's first load in headless Chromium: an optimization run page with 1,000
evaluations, cold (browser cache off) and warm (the long-cached assets kept): bytes transferred,
requests, and the time to the first chart (the `dspex:first-chart` performance mark the page sets
when a chart first draws data) and to all 1,000 points drawn.

Baseline, same run, same tab, same server: `fetch()` of the raw JSON of one GraphQL query asking
for what the page shows (the run's fields and its 1,000 evaluations), parsed with `.json()`.

python -m bench.dashboard_load [--database-url URL] [--loads 5] [--evaluations 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tests.support.browser import Browser, Event, Page
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import create_space, landscape_program, start
from tests.support.processes import Server, clean_env, polled

from bench.common import (
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    summarize,
    versions,
)

RAISED_LIMITS = {
    "DSPEX_LIMITS_REQUESTS_PER_SECOND": "1000000",
    "DSPEX_LIMITS_REQUEST_BURST": "1000000",
}
"""As every benchmark (`bench/common.py`): the rate limit is policy, not cost."""
FIRST_CHART = "performance.getEntriesByName('dspex:first-chart')[0]?.startTime"
STATUS = "query($id: ID!) { optimizationRun(id: $id) { status evaluationCount } }"
RAW_QUERY = """query($id: ID!) { optimizationRun(id: $id) {
  id name status strategy metric maxIterations iterationsCompleted bestScore bestConfiguration
  totalCost durationSeconds progressPercentage convergenceStatus results error
  createdAt startedAt completedAt objectives { name direction } paretoFrontier { evaluationId }
  program { id name } variableSpace { id name }
  evaluations(first: 1000) { nodes { id iteration configuration score cost latencyMs status } }
} }"""


async def finished_run(server: Server, key: str, evaluations: int) -> str:
    """An optimization run of the mock adapter (no latency), `evaluations` long, ended."""
    async with GraphQLClient.for_url(server.url, key) as client:
        space = await create_space(client)
        program_id = await landscape_program(client, space["id"])
        example = {"inputs": {"question": "q"}, "expected": {"answer": "a"}}
        fields = {"maxIterations": evaluations, "trainingData": [example], "concurrency": 1}
        run_id: str = (await start(client, program_id, **fields))["id"]
    done = await polled(server, key, STATUS, "optimizationRun", run_id, _ended)
    assert done["evaluationCount"] == evaluations, done
    return run_id


def _ended(run: dict[str, Any]) -> bool:
    return run["status"] not in {"PENDING", "RUNNING"}


class Traffic:
    """What one load moved over the network, from DevTools' Network events."""

    def __init__(self, events: list[Event]) -> None:
        self.requests = 0
        self.bytes = 0
        self.websocket_bytes = 0
        self.from_cache = 0
        for event in events:
            self.count(event["method"], event.get("params", {}))

    def count(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(
            "data:"
        ):
            self.requests += 1
        elif method == "Network.loadingFinished":
            self.bytes += int(params["encodedDataLength"])
        elif method == "Network.requestServedFromCache":
            self.from_cache += 1
        elif method == "Network.webSocketCreated":
            self.requests += 1
        elif method in {"Network.webSocketFrameReceived", "Network.webSocketFrameSent"}:
            self.websocket_bytes += len(params["response"]["payloadData"].encode())

    def describe(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "served_from_cache": self.from_cache,
            "http_bytes": self.bytes,
            "websocket_payload_bytes": self.websocket_bytes,
            "total_bytes": self.bytes + self.websocket_bytes,
        }


async def load(page: Page, url: str, points: int) -> dict[str, Any]:
    """One load of the run's page from a blank one: its traffic and times (ms from navigation)."""
    await page.goto("about:blank")
    page.events.clear()
    await page.goto(url)
    drawn = (
        f"+document.querySelector('#score-chart')?.dataset.points >= {points} && performance.now()"
    )
    all_points = await page.until(drawn)
    first_chart = await page.evaluate(FIRST_CHART)
    navigation = await page.evaluate(
        "(({responseEnd, domContentLoadedEventEnd, loadEventEnd}) =>"
        " ({responseEnd, domContentLoadedEventEnd, loadEventEnd}))"
        "(performance.getEntriesByType('navigation')[0])"
    )
    return {
        "first_chart_ms": first_chart,
        "all_points_drawn_ms": all_points,
        "html_received_ms": navigation["responseEnd"],
        "dom_content_loaded_ms": navigation["domContentLoadedEventEnd"],
        "load_event_ms": navigation["loadEventEnd"],
        **Traffic(page.events).describe(),
    }


async def raw_json(page: Page, run_id: str, key: str) -> dict[str, Any]:
    """The baseline: the same data as one GraphQL response, fetched and parsed in the page."""
    script = f"""(async () => {{
      performance.clearResourceTimings();
      const started = performance.now();
      const response = await fetch("/graphql", {{method: "POST",
        headers: {{"content-type": "application/json", authorization: "Bearer {key}"}},
        body: JSON.stringify({{query: {json.dumps(RAW_QUERY)}, variables: {{id: "{run_id}"}}}})}});
      const body = await response.json();
      const ms = performance.now() - started;
      const entry = performance.getEntriesByType("resource").at(-1);
      return {{ms, transferSize: entry.transferSize,
               evaluations: body.data.optimizationRun.evaluations.nodes.length}};
    }})()"""
    return dict(await page.evaluate(script))


def medians(loads: list[dict[str, Any]]) -> dict[str, Any]:
    fields = loads[0].keys()
    return {name: round(statistics.median(load[name] for load in loads), 1) for name in fields}


async def measure(server: Server, key: str, run_id: str, loads: int, points: int) -> dict[str, Any]:
    url = f"{server.url}/#/optimizations/{run_id}"
    with tempfile.TemporaryDirectory(prefix="dspex-bench-chromium-") as profile:
        async with Browser(Path(profile)) as browser:
            page = await browser.page()
            await page.goto(f"{server.url}/")
            await page.evaluate(f"sessionStorage.setItem('dspex.apiKey', {key!r})")
            await page.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cold = [await load(page, url, points) for _ in range(loads)]
            await page.send("Network.setCacheDisabled", {"cacheDisabled": False})
            await load(page, url, points)  # fills the cache
            warm = [await load(page, url, points) for _ in range(loads)]
            baseline = [await raw_json(page, run_id, key) for _ in range(loads)]
            errors = page.errors
    return {
        "cold": {
            "median": medians(cold),
            "first_chart_ms": summarize([c["first_chart_ms"] for c in cold]),
        },
        "warm": {
            "median": medians(warm),
            "first_chart_ms": summarize([w["first_chart_ms"] for w in warm]),
        },
        "baseline_raw_json": {
            "fetch_and_parse_ms": summarize([b["ms"] for b in baseline]),
            "transfer_bytes": baseline[0]["transferSize"],
            "evaluations": baseline[0]["evaluations"],
        },
        "browser_errors": errors,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=1000)
    args = parser.parse_args()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        with tempfile.TemporaryDirectory(prefix="dspex-bench-") as workdir:
            env = clean_env(DSPEX_DATABASE_URL=database.url, **RAISED_LIMITS)
            server = Server(Path(workdir), env)
            server.wait_ready()
            try:
                log(f"an optimization run of {args.evaluations} evaluations")
                run_id = await finished_run(server, organization.api_key, args.evaluations)
                log(f"{args.loads} cold and {args.loads} warm loads, then the raw JSON baseline")
                figures = await measure(
                    server, organization.api_key, run_id, args.loads, args.evaluations
                )
            finally:
                server.stop()
        emit(
            {
                "benchmark": "dashboard_load",
                "database": database.describe(),
                "versions": versions(),
                "machine": machine(),
                "setup": (
                    "a real `dspex-gql serve` process (defaults, gzip on assets), Debian's "
                    "headless Chromium over CDP on loopback; each load navigates from about:blank "
                    "to /#/optimizations/<id> (a COMPLETED run); cold: Network.setCacheDisabled, "
                    "warm: the browser cache on after one priming load; bytes are DevTools' "
                    "encodedDataLength (headers included) plus websocket payloads"
                ),
                "evaluations": args.evaluations,
                **figures,
            }
        )


if __name__ == "__main__":
    run(main)
