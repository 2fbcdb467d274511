"""The optimization loop's own overhead per evaluation, against a bare Optuna ask/tell loop.

    python -m bench.optimization_overhead [--database-url URL] [--iterations 300] [--repeats 5]

Through the service: the app (`create_app(settings)`, default settings, the bench's raised request
budget) is served by uvicorn as a task of this process's event loop (`bench.servers.serving`), and
the client talks GraphQL to it over real loopback HTTP with the admin's API key. It creates a
variable space (Branin: x1 ∈ [-5, 10], x2 ∈ [0, 15], FLOAT) and a READY program over it whose
configuration holds the Branin landscape; then, for RANDOM and BAYESIAN, it starts optimizations
of `--iterations` iterations on ONE training example with concurrency 1 and reads
`durationSeconds` and `iterationsCompleted`: service ms per evaluation. The evaluations'
`createdAt` (stamped right after each evaluation) give the pace over the first and last 100.
The end of a run is seen two ways, in separate runs:
- `service`: the run's terminal `OptimizationChanged` event, from the service's own hub
  (in-process, the feed `optimizationProgress` reads), published once the terminal write (the
  evaluations not yet written, the run row, the program's release) has committed. So the
  client adds no load, and `end_to_end_ms_per_evaluation` (startOptimization sent → terminal
  event) includes the terminal write, which `durationSeconds` (completedAt is stamped before
  that write) does not;
- `service_polled`: `optimizationRun(id) { status }` every `--poll-ms` (50); its polls share the
  event loop with the run, and their latency says how responsive the API is during a run.
A 20-iteration RANDOM run first warms the service up; it is not reported.

Baselines, same run, same process and event loop, while the server is up (and idle):
- `bare_optuna`: `optuna.create_study` (RandomSampler(seed) for RANDOM, TPESampler(seed,
  multivariate=True) for BAYESIAN, as the service's TPE), `trial.suggest_float` for x1 and x2,
  one `MockAdapter().run(AdapterRequest(...))` with the same landscape configuration and the
  expected outputs in the options, `exact_match`, `study.tell`.
- `engine_loop` (in between): the engine's own strategy (`create_strategy`) and `evaluate()`
  through a `ProgramInvoker`, i.e. the service's loop without its bookkeeping (Evaluation rows,
  run state, write-behind, events).

So `service - bare_optuna` is the overhead per evaluation; `engine_loop - bare_optuna` is the
strategy wrapper and `evaluate()`; `service - engine_loop` is the bookkeeping, write-behind and
events. The service's RANDOM does not use Optuna (numpy draws); the bare RANDOM uses Optuna's
RandomSampler. TPE's cost grows with the number of trials: compare the last-100 figures too.

Each phase runs `--repeats` times per strategy, in a rotating order; medians are reported. Each
phase also reports this process's CPU per evaluation (all threads, aiosqlite's included; not a
PostgreSQL server's), its GC pauses, and the machine's other load: on a busy machine, compare
CPU figures. `--progress-interval-ms` changes the service's write-behind interval (default 100).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any
from uuid import UUID

import optuna
from optuna.samplers import BaseSampler, RandomSampler, TPESampler

from bench.common import (
    BenchOrganization,
    CPUWindow,
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    event_loop_name,
    log,
    machine,
    run,
    service_settings,
    versions,
    warn_if_busy,
)
from bench.gcstats import GCStats
from bench.httpclient import Connection, graphql
from bench.seed import create_program
from bench.servers import serving
from dspex_gql.app import create_app
from dspex_gql.engine.adapters import AdapterRegistry, AdapterRequest, MockAdapter
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.evaluation import Example, ProgramUnderTest, evaluate
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.landscapes import BRANIN_DOMAIN
from dspex_gql.engine.optimization import (
    MetricRegistry,
    Objective,
    Outcome,
    StrategyKind,
    create_strategy,
    exact_match,
)
from dspex_gql.engine.signatures import parse_signature
from dspex_gql.engine.variables import build_space
from dspex_gql.optimization_runs.events import OptimizationChanged
from dspex_gql.pubsub import Hub, channels
from dspex_gql.runtime import Runtime

optuna.logging.set_verbosity(optuna.logging.WARNING)

STRATEGIES = (StrategyKind.RANDOM, StrategyKind.BAYESIAN)
SIGNATURE = "question -> answer"
LANDSCAPE = {"kind": "branin", "x": "x1", "y": "x2", "tau": 10.0, "seed": 0}
VARIABLES = [
    {"name": name, "type": "FLOAT", "constraints": {"min": low, "max": high}}
    for name, (low, high) in BRANIN_DOMAIN.items()
]
EXAMPLE = {"inputs": {"question": "q0"}, "expected": {"answer": "a0"}}
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
WINDOW = 100
"""Evaluations in the first/last window."""
WARMUP_ITERATIONS = 20

CREATE_SPACE = """
mutation($input: CreateVariableSpaceInput!) {
  createVariableSpace(input: $input) {
    __typename
    ... on VariableSpace { id }
    ... on Error { message code }
  }
}
"""
START = """
mutation($input: StartOptimizationInput!) {
  startOptimization(input: $input) {
    __typename
    ... on OptimizationRun { id status }
    ... on Error { message code }
  }
}
"""
STATUS = "query($id: ID!) { optimizationRun(id: $id) { status } }"
RESULT = """
query($id: ID!, $first: Int!) {
  optimizationRun(id: $id) {
    status iterationsCompleted durationSeconds startedAt completedAt bestScore results error
    paretoFrontier { evaluationId }
    evaluations(first: $first, orderBy: [{field: ITERATION, direction: ASC}]) {
      nodes { iteration createdAt }
    }
  }
}
"""


# -- pace ---------------------------------------------------------------------------------------


def pace(stamps: list[float], started: float) -> dict[str, Any]:
    """ms per evaluation: over the whole run, the first and the last `WINDOW` evaluations.

    `stamps[i]`: when evaluation i was done (seconds); `started`: before the first one.
    """
    count = len(stamps)
    found: dict[str, Any] = {"ms_per_evaluation": round((stamps[-1] - started) / count * 1000, 4)}
    if count > WINDOW:
        found[f"ms_per_evaluation_first_{WINDOW}"] = round(
            (stamps[WINDOW - 1] - started) / WINDOW * 1000, 4
        )
        found[f"ms_per_evaluation_last_{WINDOW}"] = round(
            (stamps[-1] - stamps[-1 - WINDOW]) / WINDOW * 1000, 4
        )
    return found


class Meter:
    """This process's CPU (all its threads: aiosqlite's too) and GC pauses over a `with` block,
    and the rest of the machine's load: on a busy machine CPU time is steadier than wall time."""

    def __enter__(self) -> Meter:
        self.gc = GCStats().attach()
        self.cpu = CPUWindow().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cpu.__exit__(*exc_info)
        self.gc.detach()
        self.gc_figures = self.gc.figures()

    def figures(self, iterations: int) -> dict[str, Any]:
        full = self.gc_figures["by_generation"].get("2", {}).get("collections", 0)
        return {
            "cpu_ms_per_evaluation": round(self.cpu.process / iterations * 1000, 4),
            "gc_ms_per_evaluation": round(self.gc_figures["pause_total_ms"] / iterations, 4),
            "gc_full_collections": full,
        } | self.cpu.figures()


def sampler_for(kind: StrategyKind, seed: int) -> BaseSampler:
    if kind is StrategyKind.RANDOM:
        return RandomSampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return TPESampler(seed=seed, multivariate=True)


# -- baselines ----------------------------------------------------------------------------------


async def bare_optuna(kind: StrategyKind, iterations: int, seed: int) -> dict[str, Any]:
    """Optuna ask → suggest x1, x2 → one mock run → exact_match → tell."""
    adapter = MockAdapter()
    signature = parse_signature(SIGNATURE)
    inputs, expected = EXAMPLE["inputs"], EXAMPLE["expected"]
    study = optuna.create_study(sampler=sampler_for(kind, seed), direction="maximize")
    stamps: list[float] = []
    with Meter() as meter:
        started = time.perf_counter()
        for _ in range(iterations):
            trial = study.ask()
            configuration = {
                "landscape": LANDSCAPE,
                "x1": trial.suggest_float("x1", *BRANIN_DOMAIN["x1"]),
                "x2": trial.suggest_float("x2", *BRANIN_DOMAIN["x2"]),
            }
            request = AdapterRequest(
                program_type=ProgramType.PREDICT,
                signature=signature,
                instructions=None,
                inputs=inputs,
                configuration=configuration,
                options={"expected": expected},
            )
            result = await adapter.run(request)
            study.tell(trial, exact_match(result.outputs, expected))
            stamps.append(time.perf_counter())
    return pace(stamps, started) | meter.figures(iterations) | {"best_score": study.best_value}


async def engine_loop(kind: StrategyKind, iterations: int, seed: int) -> dict[str, Any]:
    """The service loop's ask → evaluate() → tell, without its bookkeeping."""
    space = build_space(VARIABLES, [], known_modules=())
    strategy = create_strategy(kind, space, [Objective("SCORE")], seed=seed, example_count=1)
    invoker = ProgramInvoker(AdapterRegistry.default(), CustomProgramRegistry())
    metric = MetricRegistry.default().get("exact_match")
    program = ProgramUnderTest(
        adapter="mock",
        implementation=None,
        type=ProgramType.PREDICT,
        signature=parse_signature(SIGNATURE),
        instructions=None,
        configuration={"landscape": LANDSCAPE},
    )
    examples = [Example(EXAMPLE["inputs"], EXAMPLE["expected"])]
    stamps: list[float] = []
    with Meter() as meter:
        started = time.perf_counter()
        for _ in range(iterations):
            candidate = strategy.ask()
            if candidate is None:
                raise RuntimeError(f"{kind} ran out of candidates")
            result = await evaluate(invoker, program, candidate.configuration, examples, metric, 1)
            scores = tuple(example.score for example in result.examples)
            values = None if result.score is None else (result.score,)
            strategy.tell(candidate, Outcome(values, scores))
            stamps.append(time.perf_counter())
    return pace(stamps, started) | meter.figures(iterations)


# -- the service --------------------------------------------------------------------------------


@dataclass
class Client:
    connection: Connection
    api_key: str
    hub: Hub

    async def data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await graphql(self.connection, query, variables, api_key=self.api_key)

    async def mutate(self, query: str, field: str, input: dict[str, Any]) -> dict[str, Any]:
        """The mutation's result, which must not be an error."""
        result: dict[str, Any] = (await self.data(query, {"input": input}))[field]
        if "id" not in result:
            raise RuntimeError(f"{field} failed: {result}")
        return result

    async def status(self, run_id: str) -> str:
        status: str = (await self.data(STATUS, {"id": run_id}))["optimizationRun"]["status"]
        return status


@dataclass
class Ending:
    status: str
    seen_at: float | None
    """perf_counter() when the end was seen; None when it was over before the client looked."""
    poll_ms: list[float] = field(default_factory=list)


async def wait_for_event(client: Client, run_id: str) -> Ending:
    """The terminal `OptimizationChanged` event, which is published once its write commits."""
    channel = channels.optimization_run(UUID(run_id))
    async with client.hub.subscribe(channel, OptimizationChanged) as events:
        status = await client.status(run_id)  # subscribed only now: was it over already?
        if status in TERMINAL:
            return Ending(status, None)
        async for event in events:
            if event.status.is_terminal:
                return Ending(event.status.value, time.perf_counter())
    raise RuntimeError("the event feed ended")


async def wait_by_polling(client: Client, run_id: str, every: float) -> Ending:
    """`optimizationRun(id) { status }` every `every` seconds until terminal; each poll timed."""
    polls: list[float] = []
    while True:
        await asyncio.sleep(every)
        sent = time.perf_counter()
        status = await client.status(run_id)
        seen = time.perf_counter()
        polls.append((seen - sent) * 1000)
        if status in TERMINAL:
            return Ending(status, seen, polls)


async def service_run(
    client: Client,
    program_id: str,
    kind: StrategyKind,
    iterations: int,
    seed: int,
    poll_seconds: float | None,
) -> dict[str, Any]:
    """One run through the API; ended by the terminal event, or by polling when `poll_seconds`."""
    input = {
        "programId": program_id,
        "name": f"bench-{kind.value.lower()}-{iterations}-{uuid.uuid4().hex[:8]}",
        "strategy": kind.value,
        "trainingData": [EXAMPLE],
        "maxIterations": iterations,
        "seed": seed,
        "concurrency": 1,
    }
    with Meter() as meter:
        sent = time.perf_counter()
        run_id = (await client.mutate(START, "startOptimization", input))["id"]
        if poll_seconds is None:
            ending = await wait_for_event(client, run_id)
        else:
            ending = await wait_by_polling(client, run_id, poll_seconds)
    found = (await client.data(RESULT, {"id": run_id, "first": iterations}))["optimizationRun"]
    if ending.status != "COMPLETED" or found["iterationsCompleted"] != iterations:
        raise RuntimeError(f"the {kind} run did not complete: {found}")
    nodes = found["evaluations"]["nodes"]
    if len(nodes) != iterations:
        raise RuntimeError(f"expected {iterations} evaluations, read {len(nodes)}")
    duration = float(found["durationSeconds"])
    origin = datetime.fromisoformat(found["startedAt"])
    stamps = [(datetime.fromisoformat(n["createdAt"]) - origin).total_seconds() for n in nodes]
    result: dict[str, Any] = {
        # what the service reports; the first/last figures are from the evaluations' createdAt
        **pace(stamps, 0.0),
        "ms_per_evaluation": round(duration / iterations * 1000, 4),
        "duration_seconds": duration,
    }
    if ending.seen_at is not None:
        key = "end_to_end" if poll_seconds is None else "client_observed"
        result[f"{key}_ms_per_evaluation"] = round((ending.seen_at - sent) / iterations * 1000, 4)
    if poll_seconds is not None:
        result["polls"] = len(ending.poll_ms)
        result["poll_latency_ms_median"] = round(statistics.median(ending.poll_ms), 3)
        result["poll_latency_ms_max"] = round(max(ending.poll_ms), 3)
    result["best_score"] = found["bestScore"]
    result["pareto_frontier_size"] = len(found["paretoFrontier"])
    if found["results"]["stopReason"] != "max_iterations":
        raise RuntimeError(f"the run stopped early: {found['results']}")
    return result | meter.figures(iterations)


COMPARED = {
    "ms_per_evaluation": "ms_per_evaluation",
    "end_to_end_ms_per_evaluation": "ms_per_evaluation",
    f"ms_per_evaluation_first_{WINDOW}": f"ms_per_evaluation_first_{WINDOW}",
    f"ms_per_evaluation_last_{WINDOW}": f"ms_per_evaluation_last_{WINDOW}",
    "cpu_ms_per_evaluation": "cpu_ms_per_evaluation",
}
"""The service's figure → the baseline's figure it is compared with."""


def overhead(service: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Service minus baseline (ms per evaluation), and service over baseline, figure by figure."""
    return {
        mine: {
            "difference_ms": round(service[mine] - baseline[theirs], 4),
            "ratio": round(service[mine] / baseline[theirs], 2),
        }
        for mine, theirs in COMPARED.items()
        if mine in service and theirs in baseline
    }


def medians(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric figure's median over the repeats, plus every repeat's ms per evaluation."""
    keys = [k for k, v in repeats[0].items() if isinstance(v, int | float)]
    found: dict[str, Any] = {
        key: round(statistics.median(r[key] for r in repeats if key in r), 4) for key in keys
    }
    found["repeats"] = len(repeats)
    found["ms_per_evaluation_by_repeat"] = [r["ms_per_evaluation"] for r in repeats]
    return found


async def measure(args: argparse.Namespace, url: str, organization: BenchOrganization) -> Any:
    settings = service_settings(url)
    if args.progress_interval_ms is not None:
        settings.execution.progress_interval_ms = args.progress_interval_ms
    app = create_app(settings)
    results: dict[str, Any] = {}
    async with serving(app) as port:
        runtime: Runtime = app.state.runtime
        client = Client(await Connection.open(port), organization.api_key, runtime.hub)
        space = await client.mutate(
            CREATE_SPACE, "createVariableSpace", {"name": "bench-branin", "variables": VARIABLES}
        )
        program = await create_program(
            client.connection,
            organization.api_key,
            name="bench-branin",
            signatureSpec=SIGNATURE,
            configuration={"landscape": LANDSCAPE},
            variableSpaceId=space["id"],
            initialize=True,
        )
        if program["status"] != "READY":
            raise RuntimeError(f"program not READY: {program}")
        poll = args.poll_ms / 1000
        log(f"warm-up: a {WARMUP_ITERATIONS}-iteration RANDOM run, and the baselines")
        await service_run(client, program["id"], StrategyKind.RANDOM, WARMUP_ITERATIONS, 1, None)
        await bare_optuna(StrategyKind.BAYESIAN, WARMUP_ITERATIONS, 1)
        await engine_loop(StrategyKind.BAYESIAN, WARMUP_ITERATIONS, 1)
        phases: list[tuple[str, Callable[[StrategyKind], Awaitable[dict[str, Any]]]]] = [
            ("bare_optuna", lambda kind: bare_optuna(kind, args.iterations, args.seed)),
            ("engine_loop", lambda kind: engine_loop(kind, args.iterations, args.seed)),
            (
                "service",
                lambda kind: service_run(
                    client, program["id"], kind, args.iterations, args.seed, None
                ),
            ),
            (
                "service_polled",
                lambda kind: service_run(
                    client, program["id"], kind, args.iterations, args.seed, poll
                ),
            ),
        ]
        for kind in STRATEGIES:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in phases}
            for repeat in range(args.repeats):
                order = phases[repeat % len(phases) :] + phases[: repeat % len(phases)]
                log(f"{kind.value}, repeat {repeat + 1}/{args.repeats}: {args.iterations} each")
                for name, phase in order:
                    figures = await phase(kind)
                    runs[name].append(figures)
                    log(
                        f"  {name:<14} {figures['ms_per_evaluation']:7.3f} ms, "
                        f"CPU {figures['cpu_ms_per_evaluation']:7.3f} ms per evaluation"
                    )
            found = {name: medians(figures) for name, figures in runs.items()}
            found["service_overhead_vs_bare_optuna"] = overhead(
                found["service"], found["bare_optuna"]
            )
            found["service_overhead_vs_engine_loop"] = overhead(
                found["service"], found["engine_loop"]
            )
            results[kind.value] = found
        await client.connection.close()
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        strategies = await measure(args, database.url, organization)
    return {
        "benchmark": "optimization_overhead",
        "setup": (
            "app = create_app(settings) served by uvicorn as a task of this process's event "
            f"loop ({event_loop_name()}); the client speaks GraphQL over real loopback HTTP "
            "(one keep-alive connection): createVariableSpace (Branin x1, x2 FLOAT), "
            "createProgram (READY, configuration.landscape = Branin), then per strategy "
            f"startOptimization with maxIterations {args.iterations}, ONE training example, "
            f"concurrency 1, seed {args.seed}; service ms_per_evaluation = durationSeconds / "
            "iterationsCompleted (durationSeconds = completedAt - startedAt as the service "
            "reports it; completedAt is stamped before the terminal write); "
            "end_to_end_ms_per_evaluation = startOptimization sent -> terminal "
            "OptimizationChanged event received from the service's hub in-process (published "
            "after the terminal write commits; no client load during the run); service_polled: "
            f"the same, but the client polls optimizationRun(id){{status}} every "
            f"{args.poll_ms:g} ms; first/last-100 figures of the service from the evaluations' "
            "createdAt; baselines (bare Optuna loop, engine loop) run in the same process and "
            f"loop while the server is up and idle; each phase {args.repeats} times in rotating "
            "order, medians; cpu_ms_per_evaluation = this process's CPU (all threads) / "
            f"evaluations; machine has {machine()['cpus']} CPUs; every request carries "
            "'Authorization: Bearer <API key>' of the admin of an organization created for the "
            "run (create_org), with the per-actor request budget raised (common.BENCH_LIMITS)"
        ),
        "database": database.describe(),
        "organization": organization.describe(),
        "iterations": args.iterations,
        "repeats": args.repeats,
        "progress_interval_ms": args.progress_interval_ms or "service default (100)",
        "landscape": LANDSCAPE,
        "training_examples": 1,
        "strategies": strategies,
        "versions": versions()
        | {"optuna": metadata.version("optuna"), "numpy": metadata.version("numpy")}
        | {"event_loop": event_loop_name()},
        "machine": machine() | {"load_average_1m_before": load_before},
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--iterations", type=int, default=300, help="evaluations per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of each phase; medians are reported"
    )
    parser.add_argument("--poll-ms", type=float, default=50.0, help="status polling interval")
    parser.add_argument(
        "--progress-interval-ms",
        type=int,
        help="the service's write-behind interval (DSPEX_EXECUTION_PROGRESS_INTERVAL_MS); "
        "default: the service's default, 100",
    )
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()
