"""Best regret of BAYESIAN and EVOLUTIONARY (and SIMBA) against RANDOM, at equal budget.

    python -m bench.optimizer_regret [--seeds 10] [--examples 32] [--budget N]
                                     [--budget-branin 60] [--budget-hartmann6 100]

For each landscape (Branin on x1 ∈ [-5, 10], x2 ∈ [0, 15]; Hartmann-6 on x1..x6 ∈ [0, 1]; FLOAT
variables of a space made with `build_space`), each strategy and each seed 0..seeds-1, the
engine's own ask/tell loop runs for the budget's number of evaluations. Each candidate is scored
exactly as the service's loop scores it (`optimization_runs/runner.py`): `evaluate()` through a
`ProgramInvoker` over `AdapterRegistry.default()` (the real mock adapter) and an empty
`CustomProgramRegistry`, on `--examples` training examples
`{"inputs": {"question": "q<i>"}, "expected": {"answer": "a<i>"}}`, metric `exact_match` from
`MetricRegistry.default()`, the landscape in the program's configuration; the strategy is told
`Outcome((score,), example_scores)` with the single objective SCORE (maximize), as the service
does. The mock answers example i right iff u_i < p(configuration), `p = exp(-(f - f*) / tau)`,
so a score is a count of examples out of `--examples`: quantized.

Per run: the best is the evaluation with the highest score (ties: the earliest; a score on every
example beats a mini-batch score: SIMBA's last evaluation scores its incumbent on all of them),
as the service's `RunState` picks it; its regret is `landscape.objective(best) - landscape.minimum`.
The oracle regret is the smallest true regret among the evaluated configurations: what a
noise-free pick among the same candidates would give. It separates search quality from score
quantization. For seed s, the strategy's seed and the landscape's seed (which examples are easy)
are both s.

The baseline is RANDOM in the same run: `ratio_to_random` is a strategy's mean regret divided
by RANDOM's. There is no database: nothing here touches one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from bench.common import emit, event_loop_name, load_average, log, machine, run, versions
from dspex_gql.engine.adapters import AdapterRegistry
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.evaluation import Example, ProgramUnderTest, evaluate
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.landscapes import Landscape, parse_landscape
from dspex_gql.engine.optimization import (
    Concludes,
    Metric,
    MetricRegistry,
    Objective,
    Outcome,
    StrategyKind,
    create_strategy,
)
from dspex_gql.engine.signatures import parse_signature
from dspex_gql.engine.variables import SearchSpace, build_space

BASELINE = StrategyKind.RANDOM
STRATEGIES = (
    StrategyKind.RANDOM,
    StrategyKind.BAYESIAN,
    StrategyKind.EVOLUTIONARY,
    StrategyKind.SIMBA,
)
OBJECTIVES = (Objective("SCORE"),)  # what the service builds when no objectives are given
SIGNATURE = "question -> answer"
METRIC = "exact_match"


@dataclass(frozen=True)
class Problem:
    name: str
    landscape: dict[str, Any]
    """The program configuration's `landscape` object, without its seed."""
    budget: int

    def space(self) -> SearchSpace:
        domain = parse_landscape(self.landscape).domain
        variables = [
            {"name": name, "type": "FLOAT", "constraints": {"min": low, "max": high}}
            for name, (low, high) in domain.items()
        ]
        return build_space(variables, [], known_modules=())

    def seeded(self, seed: int) -> dict[str, Any]:
        return {**self.landscape, "seed": seed}


@dataclass(frozen=True)
class RunResult:
    regret: float
    oracle_regret: float
    best_score: float
    best_iteration: int
    best_configuration: dict[str, Any]
    seconds: float


def examples(count: int) -> list[Example]:
    return [Example({"question": f"q{i}"}, {"answer": f"a{i}"}) for i in range(count)]


async def one_run(
    problem: Problem,
    kind: StrategyKind,
    seed: int,
    training: Sequence[Example],
    invoker: ProgramInvoker,
    metric: Metric,
    concurrency: int,
) -> RunResult:
    """The service loop's ask → evaluate → tell, `problem.budget` times, without the bookkeeping."""
    configuration = {"landscape": problem.seeded(seed)}
    landscape: Landscape = parse_landscape(configuration["landscape"])
    program = ProgramUnderTest(
        adapter="mock",
        implementation=None,
        type=ProgramType.PREDICT,
        signature=parse_signature(SIGNATURE),
        instructions=None,
        configuration=configuration,
    )
    strategy = create_strategy(
        kind, problem.space(), OBJECTIVES, seed=seed, example_count=len(training)
    )
    started = time.perf_counter()
    best: tuple[bool, float, int, dict[str, Any]] | None = None
    oracle = float("inf")
    for iteration in range(problem.budget):
        last = iteration == problem.budget - 1
        candidate = (
            strategy.conclude() if last and isinstance(strategy, Concludes) else strategy.ask()
        )
        if candidate is None:
            raise RuntimeError(f"{kind} ran out of candidates")
        indices = candidate.examples
        batch = training if indices is None else [training[i] for i in indices]
        result = await evaluate(
            invoker, program, candidate.configuration, batch, metric, concurrency
        )
        scores = tuple(example.score for example in result.examples)
        score = result.score
        strategy.tell(candidate, Outcome(None if score is None else (score,), scores))
        if score is None:
            continue
        ranked = (indices is None, score, candidate.number, candidate.configuration)
        if best is None or ranked[:2] > best[:2]:  # a score on every example beats a batch's
            best = ranked
        oracle = min(oracle, landscape.objective(candidate.configuration) - landscape.minimum)
    seconds = time.perf_counter() - started
    if best is None:
        raise RuntimeError(f"{kind} on {problem.name}, seed {seed}: every evaluation failed")
    _, score, iteration, chosen = best
    return RunResult(
        regret=landscape.objective(chosen) - landscape.minimum,
        oracle_regret=oracle,
        best_score=score,
        best_iteration=iteration,
        best_configuration=chosen,
        seconds=seconds,
    )


def _round(value: float) -> float:
    return round(value, 4)


def aggregate(results: Sequence[RunResult]) -> dict[str, Any]:
    regrets = [r.regret for r in results]
    oracles = [r.oracle_regret for r in results]
    return {
        "mean_regret": _round(statistics.fmean(regrets)),
        "median_regret": _round(statistics.median(regrets)),
        "std_regret": _round(statistics.stdev(regrets)) if len(regrets) > 1 else 0.0,
        "mean_oracle_regret": _round(statistics.fmean(oracles)),
        "median_oracle_regret": _round(statistics.median(oracles)),
        "mean_best_score": _round(statistics.fmean(r.best_score for r in results)),
        "seconds_per_run": round(statistics.fmean(r.seconds for r in results), 3),
        "per_seed": {
            "regret": [_round(r) for r in regrets],
            "oracle_regret": [_round(r) for r in oracles],
            "best_score": [_round(r.best_score) for r in results],
            "best_iteration": [r.best_iteration for r in results],
        },
    }


def compare(rows: dict[str, dict[str, Any]], by_kind: Mapping[str, Sequence[RunResult]]) -> None:
    """Adds the ratios to RANDOM and per-seed wins against it, in place."""
    baseline = rows[BASELINE.value]
    random_runs = by_kind[BASELINE.value]
    for kind, row in rows.items():
        row["ratio_to_random"] = _ratio(row["mean_regret"], baseline["mean_regret"])
        row["oracle_ratio_to_random"] = _ratio(
            row["mean_oracle_regret"], baseline["mean_oracle_regret"]
        )
        pairs = list(zip(by_kind[kind], random_runs, strict=True))
        row["seeds_better_than_random"] = sum(r.regret < b.regret for r, b in pairs)
        row["seeds_worse_than_random"] = sum(r.regret > b.regret for r, b in pairs)


def _ratio(value: float, baseline: float) -> float | None:
    return None if baseline == 0 else round(value / baseline, 3)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = load_average()
    problems = (
        Problem(
            "branin",
            {"kind": "branin", "x": "x1", "y": "x2", "tau": args.tau_branin},
            args.budget or args.budget_branin,
        ),
        Problem(
            "hartmann6",
            {
                "kind": "hartmann6",
                "variables": [f"x{i}" for i in range(1, 7)],
                "tau": args.tau_hartmann6,
            },
            args.budget or args.budget_hartmann6,
        ),
    )
    kinds = [k for k in STRATEGIES if k is not StrategyKind.SIMBA or not args.no_simba]
    invoker = ProgramInvoker(AdapterRegistry.default(), CustomProgramRegistry())
    metric = MetricRegistry.default().get(METRIC)
    training = examples(args.examples)
    seeds = list(range(args.seeds))
    landscapes: dict[str, Any] = {}
    started = time.perf_counter()
    for problem in problems:
        by_kind: dict[str, list[RunResult]] = {}
        for kind in kinds:
            log(f"{problem.name}: {kind.value}, {len(seeds)} seeds, budget {problem.budget}")
            by_kind[kind.value] = [
                await one_run(problem, kind, seed, training, invoker, metric, args.concurrency)
                for seed in seeds
            ]
        rows = {name: aggregate(results) for name, results in by_kind.items()}
        compare(rows, by_kind)
        for name, row in rows.items():
            log(
                f"  {problem.name} {name:<12} mean regret {row['mean_regret']:.4f} "
                f"(oracle {row['mean_oracle_regret']:.4f}), ratio to RANDOM "
                f"{row['ratio_to_random']}"
            )
        landscapes[problem.name] = {
            "landscape": problem.landscape,
            "landscape_seed": "the run's seed",
            "minimum": parse_landscape(problem.landscape).minimum,
            "domain": parse_landscape(problem.landscape).domain,
            "budget": problem.budget,
            "strategies": rows,
        }
    return {
        "benchmark": "optimizer_regret",
        "setup": (
            "engine ask/tell loop (create_strategy with default options, objective SCORE "
            "maximized, as startOptimization with no objectives); each candidate scored by "
            "engine.evaluation.evaluate() through ProgramInvoker(AdapterRegistry.default(), "
            f"CustomProgramRegistry()) on {args.examples} examples, metric {METRIC}, "
            f"concurrency {args.concurrency}, mock adapter with the landscape in the program "
            "configuration (example i right iff u_i < p = exp(-(f - f*)/tau)); strategy told "
            "Outcome((mean score,), example scores); best = highest score, ties earliest (as "
            "the service's RunState); regret = objective(best) - minimum; oracle regret = "
            "min over evaluated configurations of objective - minimum; seed s is both the "
            "strategy seed and the landscape seed; SIMBA evaluates each candidate on a "
            "mini-batch (default min(8, examples)) and its last evaluation scores its incumbent "
            "on every example, which is then its best, as in the service; no database"
        ),
        "baseline": f"{BASELINE.value}, same run, same seeds, same evaluation",
        "seeds": seeds,
        "examples": args.examples,
        "concurrency": args.concurrency,
        "landscapes": landscapes,
        "total_seconds": round(time.perf_counter() - started, 1),
        "versions": versions()
        | {"optuna": metadata.version("optuna"), "numpy": metadata.version("numpy")}
        | {"event_loop": event_loop_name()},
        "machine": machine() | {"load_average_1m_before": load_before},
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--examples", type=int, default=32, help="training examples")
    parser.add_argument("--budget", type=int, help="evaluations per run, both landscapes")
    parser.add_argument("--budget-branin", type=int, default=60)
    parser.add_argument("--budget-hartmann6", type=int, default=100)
    parser.add_argument("--tau-branin", type=float, default=10.0)
    parser.add_argument("--tau-hartmann6", type=float, default=1.0)
    parser.add_argument(
        "--concurrency", type=int, default=4, help="examples at once (the service's default)"
    )
    parser.add_argument("--no-simba", action="store_true", help="leave out the SIMBA row")
    args = parser.parse_args()
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()
