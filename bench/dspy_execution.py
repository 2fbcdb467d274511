"""DSPy executions: what the service adds to a DSPy call, and how 200 at once behave.

    python -m bench.dspy_execution [--database-url URL] [--requests 300] [--concurrent 200]

Everything talks to the fake OpenAI-compatible server of the tests (`tests/support/fake_lm.py`),
run as a process of its own on loopback (so its CPU stays out of the measured process; one
answering at once, one after 50 ms); nothing leaves the machine.

`overhead` (fake LM answering at once), `--requests` sequential calls each, same run:
- `direct`: the same DSPy module (`dspy.Predict("question -> answer")`) called with `acall` on a
  `dspy.LM` pointed at the fake server, in this process: the baseline.
- `adapter`: our `DspyAdapter.run` with the same program (module cache, limiter, retries, trace,
  usage and cost) — the engine's own overhead.
- `service`: `executeProgram(wait: true)` over HTTP to the service in this process (auth, insert,
  orchestrator, state writes, response) — everything a client sees.
- `service_mock`: the same service path with the mock adapter, so `service - service_mock` is what
  the dspy path adds on top of an execution's fixed cost.

`direct_throughput`: the baseline, `--concurrent` `acall`s of the same module at once (no limit).
`adapter_throughput`: `--concurrent` runs of `DspyAdapter.run` at once, the fake LM answering
after 50 ms, the model's `max_concurrency` at 50: the DSPy path alone, against the same bound.

`throughput`: `--concurrent` `executeProgram` requests at once (8 connections), the fake LM
answering after 50 ms, the model's `maxConcurrency` at 50: the time until every execution is
COMPLETED against the bound `ceil(n / 50) * 50 ms`, the most requests the fake server saw at
once, and the longest event-loop stall (a 5 ms ticker in the service's loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench.common import (
    BenchOrganization,
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
from bench.httpclient import Connection, graphql, graphql_post
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.config import SecretsSettings
from dspex_gql.engine.adapters.base import AdapterRequest, ProgramType
from dspex_gql.engine.adapters.dspy import DspyAdapter
from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.engine.signatures import parse_signature

API_KEY = "sk-bench-0123456789"


class FakeServer:
    """The tests' fake LM server in a process of its own, so that its CPU stays out of the
    measured process; its counters come over HTTP (`/stats`)."""

    def __init__(self, latency_ms: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_lm", "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    async def stats(self, method: str = "GET") -> dict[str, int]:
        url = self.base_url.removesuffix("/v1") + "/stats"

        def call() -> dict[str, int]:
            with urllib.request.urlopen(urllib.request.Request(url, method=method)) as answer:
                found: dict[str, int] = json.load(answer)
                return found

        return await asyncio.to_thread(call)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


QUESTION = "What is 1 plus 2?"
CREATE_MODEL = """mutation($input: CreateLanguageModelInput!) { createLanguageModel(input: $input) {
  __typename ... on LanguageModel { id name } ... on Error { message } } }"""
EXECUTE = """mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id status error } ... on Error { message } } }"""
COMPLETED = """query($id: ID!) { executions(filter: {programId: {eq: $id}, status: {eq: COMPLETED}})
  { totalCount } }"""


async def timed(call: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# -- overhead -----------------------------------------------------------------------------------


async def direct_samples(fake: FakeServer, count: int) -> list[float]:
    import dspy

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    module = dspy.Predict("question -> answer")
    lm = dspy.LM("openai/fake", api_base=fake.base_url, api_key=API_KEY, cache=False, num_retries=0)

    async def call() -> None:
        with dspy.context(lm=lm):
            await module.acall(question=QUESTION)

    await timed(call, 20)
    return await timed(call, count)


def spec_for(fake: FakeServer, max_concurrency: int = 8) -> LanguageModelSpec:
    return LanguageModelSpec(
        id="bench",
        revision="1",
        name="fake",
        model="openai/fake",
        base_url=fake.base_url,
        api_key=API_KEY,
        max_concurrency=max_concurrency,
    )


async def adapter_samples(fake: FakeServer, count: int) -> list[float]:
    adapter = DspyAdapter()
    request = AdapterRequest(
        program_type=ProgramType.PREDICT,
        signature=parse_signature("question -> answer"),
        instructions=None,
        inputs={"question": QUESTION},
        configuration={"lm": "fake"},
        language_models={"fake": spec_for(fake)},
    )

    async def call() -> None:
        await adapter.run(request)

    await timed(call, 20)
    return await timed(call, count)


async def service_samples(
    connection: Connection, api_key: str, program_id: str, count: int
) -> list[float]:
    variables = {"input": {"programId": program_id, "inputs": {"question": QUESTION}, "wait": True}}
    request = graphql_post(EXECUTE, variables, api_key=api_key)

    async def call() -> None:
        status, body = await connection.send(request)
        result = json.loads(body)["data"]["executeProgram"]
        if status != 200 or result.get("status") != "COMPLETED":
            raise RuntimeError(f"executeProgram: HTTP {status} {body[:300]!r}")

    await timed(call, 20)
    return await timed(call, count)


async def create_model(
    connection: Connection, api_key: str, fake: FakeServer, max_concurrency: int
) -> str:
    given = {
        "name": f"fake-{max_concurrency}",
        "model": "openai/fake",
        "baseUrl": fake.base_url,
        "apiKey": API_KEY,
        "maxConcurrency": max_concurrency,
    }
    data = await graphql(connection, CREATE_MODEL, {"input": given}, api_key=api_key)
    created = data["createLanguageModel"]
    if created["__typename"] != "LanguageModel":
        raise RuntimeError(f"createLanguageModel: {created}")
    name: str = created["name"]
    return name


async def ready_program(connection: Connection, api_key: str, **fields: Any) -> str:
    program = await create_program(
        connection, api_key, signatureSpec="question -> answer", initialize=True, **fields
    )
    if program["status"] != "READY":
        raise RuntimeError(f"program not READY: {program}")
    program_id: str = program["id"]
    return program_id


# -- throughput ---------------------------------------------------------------------------------


class StallMonitor:
    """The longest time a 5 ms sleep overslept: how long the loop was kept from running."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            late = (time.perf_counter() - started - 0.005) * 1000
            self.longest_ms = max(self.longest_ms, late)

    def __enter__(self) -> StallMonitor:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def direct_throughput(fake: FakeServer, count: int) -> dict[str, Any]:
    """The baseline: `count` `acall`s of the same DSPy module at once, straight to the fake
    server (no limiter: all of them in flight)."""
    import dspy

    module = dspy.Predict("question -> answer")
    lm = dspy.LM("openai/fake", api_base=fake.base_url, api_key=API_KEY, cache=False, num_retries=0)

    async def one(index: int) -> None:
        with dspy.context(lm=lm):
            await module.acall(question=f"{QUESTION} ({index})")

    await fake.stats("DELETE")
    with StallMonitor() as stalls:
        started = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(count)))
        elapsed = time.perf_counter() - started
    return {
        "runs": count,
        "all_done_ms": round(elapsed * 1000, 1),
        "fake_lm_max_in_flight": (await fake.stats())["max_in_flight"],
        "longest_loop_stall_ms": round(stalls.longest_ms, 1),
    }


async def adapter_throughput(fake: FakeServer, count: int) -> dict[str, Any]:
    """`count` runs of the dspy adapter at once on a model allowing 50 calls at a time: the DSPy
    path alone, without the requests that start executions."""
    adapter = DspyAdapter()
    spec = LanguageModelSpec(
        id="bench-wide", revision="1", name="wide", model="openai/fake",
        base_url=fake.base_url, api_key=API_KEY, max_concurrency=50,
    )  # fmt: skip
    requests = [
        AdapterRequest(
            program_type=ProgramType.PREDICT,
            signature=parse_signature("question -> answer"),
            instructions=None,
            inputs={"question": f"{QUESTION} ({index})"},
            configuration={"lm": "wide"},
            language_models={"wide": spec},
        )
        for index in range(count)
    ]
    await fake.stats("DELETE")
    with StallMonitor() as stalls:
        started = time.perf_counter()
        await asyncio.gather(*(adapter.run(request) for request in requests))
        elapsed = time.perf_counter() - started
    return {
        "runs": count,
        "all_done_ms": round(elapsed * 1000, 1),
        "bound_ms": math.ceil(count / 50) * 50,
        "fake_lm_max_in_flight": (await fake.stats())["max_in_flight"],
        "model_max_concurrency": 50,
        "longest_loop_stall_ms": round(stalls.longest_ms, 1),
    }


async def throughput(
    port: int, api_key: str, program_id: str, fake: FakeServer, count: int
) -> dict[str, Any]:
    connections = [await Connection.open(port) for _ in range(8)]
    variables = {"input": {"programId": program_id, "inputs": {"question": QUESTION}}}
    request = graphql_post(EXECUTE, variables, api_key=api_key)

    async def send(connection: Connection, how_many: int) -> None:
        for _ in range(how_many):
            status, body = await connection.send(request)
            if status != 200 or "Execution" not in body.decode():
                raise RuntimeError(f"executeProgram: HTTP {status} {body[:300]!r}")

    await fake.stats("DELETE")
    with StallMonitor() as stalls:
        started = time.perf_counter()
        shares = [count // 8 + (i < count % 8) for i in range(8)]
        await asyncio.gather(*(send(c, n) for c, n in zip(connections, shares, strict=True)))
        sent = time.perf_counter()
        while True:
            data = await graphql(connections[0], COMPLETED, {"id": program_id}, api_key=api_key)
            if data["executions"]["totalCount"] >= count:
                break
            await asyncio.sleep(0.005)  # a benchmark's own polling: the count is in the store
        finished = time.perf_counter()
    for connection in connections:
        await connection.close()
    return {
        "executions": count,
        "sent_ms": round((sent - started) * 1000, 1),
        "all_completed_ms": round((finished - started) * 1000, 1),
        "bound_ms": math.ceil(count / 50) * 50,
        "fake_lm_max_in_flight": (await fake.stats())["max_in_flight"],
        "model_max_concurrency": 50,
        "longest_loop_stall_ms": round(stalls.longest_ms, 1),
    }


# -- main ---------------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, url: str, organization: BenchOrganization) -> Any:
    secrets = SecretsSettings(key=SecretStr(Fernet.generate_key().decode()))
    settings = service_settings(url).model_copy(update={"secrets": secrets})
    api_key = organization.api_key
    results: dict[str, Any] = {}
    with FakeServer(latency_ms=0) as fake, FakeServer(latency_ms=50) as slow:
        log(f"direct and adapter: {args.requests} sequential calls each")
        direct = await direct_samples(fake, args.requests)
        adapter = await adapter_samples(fake, args.requests)
        async with serving(create_app(settings)) as port:
            connection = await Connection.open(port)
            model = await create_model(connection, api_key, fake, max_concurrency=8)
            dspy_program = await ready_program(
                connection, api_key, name="bench-dspy", adapter="dspy", configuration={"lm": model}
            )
            mock_program = await ready_program(connection, api_key, name="bench-mock")
            log(f"service: {args.requests} sequential executeProgram(wait: true), dspy and mock")
            service = await service_samples(connection, api_key, dspy_program, args.requests)
            mock = await service_samples(connection, api_key, mock_program, args.requests)
            results["overhead"] = overhead_figures(direct, adapter, service, mock)
            fake = slow
            log(f"adapter throughput: {args.concurrent} runs at once, 50 ms per LM call")
            results["direct_throughput"] = await direct_throughput(fake, args.concurrent)
            results["adapter_throughput"] = await adapter_throughput(fake, args.concurrent)
            wide = await create_model(connection, api_key, fake, max_concurrency=50)
            program = await ready_program(
                connection, api_key, name="bench-wide", adapter="dspy", configuration={"lm": wide}
            )
            log(f"throughput: {args.concurrent} executions at once, 50 ms per LM call")
            results["throughput"] = await throughput(port, api_key, program, fake, args.concurrent)
            await connection.close()
    return results


def overhead_figures(
    direct: list[float], adapter: list[float], service: list[float], mock: list[float]
) -> dict[str, Any]:
    figures = {
        "direct_ms": summarize(direct),
        "adapter_ms": summarize(adapter),
        "service_ms": summarize(service),
        "service_mock_ms": summarize(mock),
    }
    median = {name: figures[name]["median"] for name in figures}
    figures["added_median_ms"] = {
        "adapter_over_direct": round(median["adapter_ms"] - median["direct_ms"], 3),
        "service_over_direct": round(median["service_ms"] - median["direct_ms"], 3),
        "dspy_path_over_mock_path": round(
            median["service_ms"] - median["service_mock_ms"] - median["direct_ms"], 3
        ),
    }
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        results = await measure(args, database.url, organization)
    emit(
        {
            "benchmark": "dspy_execution",
            "database": database.kind,
            "machine": machine(),
            "versions": versions(),
            **results,
        }
    )


if __name__ == "__main__":
    run(main)
