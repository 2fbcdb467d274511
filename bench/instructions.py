"""Instructions per call of the starts and of `createDag`, counted by valgrind (callgrind).

    python -m bench.instructions [--calls 20] [--steps create_dag,execute_dag,...]   # ~30 min

Time on this machine moves by up to 2x within an hour, with the machine idle; an instruction
count moves far less. What the service's process does by the clock (lease renewals, the hub's
heartbeat, uvicorn's timers) is still counted with the calls, and valgrind slows the clock: two
counts run side by side differed by ~1.5 M instructions per call for the same code. Counts are
not times: a wait on SQLite's thread or a socket counts nothing, nor do cache misses.

Each step runs in a child process under `valgrind --tool=callgrind`, twice: with `WARM_UP` calls,
then with `WARM_UP + --calls`; the difference of the two totals over `--calls` is the step's count
per call, the child's start-up (imports, the service's set-up, the first calls) subtracted. The
child sets the service up as `bench.dags` does (SQLite, in-process, the admin's actor, a READY
probe program) and calls the service layer (no HTTP, no GraphQL):
- `create_dag`: `DagService.create` of `bench.dags`' 100-node chain;
- `execute_dag`: `DagRunService.execute` of a one-node DAG, then its run to the end;
- `execute_program`: `ExecutionService.start` of the probe program, then its run to the end;
- `raw_create_dag` (baseline of `create_dag`): SQLAlchemy Core, one transaction, INSERT of the
  same DAG row, then of its version row, as `bench.dags`' raw baseline;
- `large_dag`: `DagRunService.execute` of `bench.dags`' 1000-node chain, then its run to the end
  (its nodes' and executions' rows written);
- `bare_large` (baseline of `large_dag`): `bench.dags`' bare run, the same 1000 adapter calls in
  bare tasks. (`large_dag` - `bare_large`) / 1000 is the service's count per node.

The 1000-node steps make `LARGE_CALLS` calls after one warm-up (`--calls` is for the others),
with the write-behind interval at `LARGE_PROGRESS_INTERVAL_MS`: valgrind runs the process ~50
times slower, so at the service's 100 ms a run would be written in hundreds of small writes where
it is written in one or two at full speed (its start, then everything at its end).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from bench import breakdown
from bench.common import bench_database, create_bench_organization, emit, run
from bench.dags import LARGE_NODES, Bench, bare_run, bench_service, chain, raw_create_dag
from dspex_gql.dags.job import DAG_RUNS
from dspex_gql.dags.service import NewDag
from dspex_gql.executions.job import EXECUTIONS
from dspex_gql.executions.service import StartExecution
from dspex_gql.runs import RunKey
from dspex_gql.runtime import Services

STEPS = (
    "create_dag",
    "raw_create_dag",
    "execute_dag",
    "execute_program",
    "large_dag",
    "bare_large",
)
WARM_UP = 5
LARGE = ("large_dag", "bare_large")
LARGE_WARM_UP, LARGE_CALLS = 1, 2
LARGE_PROGRESS_INTERVAL_MS = 600_000
RUN_SECONDS = 120.0
COLLECTED = re.compile(r"Collected : (\d+)")


async def call_step(bench: Bench, step: str, calls: int) -> None:
    """`calls` calls of `step` (in the child, under valgrind)."""
    actor = await breakdown.authenticated(bench.app, bench.organization.api_key)
    services = Services(bench.runtime, actor)
    definition = chain(bench.program_id, 100)
    dag_id = UUID(await bench.client.active_dag("one-node", chain(bench.program_id, 1)))
    if step == "large_dag":
        definition = chain(bench.program_id, LARGE_NODES)
        dag_id = UUID(await bench.client.active_dag("large", definition))
    for _ in range(calls):
        name = f"dag-{uuid.uuid4().hex[:12]}"
        if step == "create_dag":
            await services.dags.create(NewDag(name=name, definition=definition))
        elif step == "raw_create_dag":
            await raw_create_dag(bench.runtime.engine, bench.organization, name, definition)
        elif step in ("execute_dag", "large_dag"):
            run = await services.dag_runs.execute(dag_id, {"question": "q"})
            await ended(bench, DAG_RUNS.key(run.id))
        elif step == "bare_large":
            await bare_run(bench, "chain", bench.runtime.settings.dag.max_parallel_nodes)
        else:
            start = StartExecution(program_id=UUID(bench.program_id), inputs={"question": "q"})
            execution = await services.executions.start(start)
            await ended(bench, EXECUTIONS.key(execution.id))


async def ended(bench: Bench, run: RunKey) -> None:
    """Until the run's task has ended (awaited, not polled: polling would count the wait)."""
    if not await bench.runtime.runs.wait(run, RUN_SECONDS):
        raise RuntimeError(f"{run} did not end within {RUN_SECONDS} s")


async def child(step: str, calls: int) -> None:
    async with bench_database(None) as database:
        organization = await create_bench_organization(database.url)
        async with bench_service(database.url, organization) as (bench, _):
            await call_step(bench, step, calls)


def counted(step: str, calls: int) -> int:
    """The instructions valgrind counted for a child making `calls` calls of `step`."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={Path(scratch) / 'callgrind.out'}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            step,
            "--calls",
            str(calls),
        ]
        env = dict(os.environ)
        if step in LARGE:
            env["DSPEX_EXECUTION_PROGRESS_INTERVAL_MS"] = str(LARGE_PROGRESS_INTERVAL_MS)
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind reported no count for {step}: {done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(step: str, calls: int) -> float:
    warm_up, calls = (LARGE_WARM_UP, LARGE_CALLS) if step in LARGE else (WARM_UP, calls)
    print(f"{step}: {warm_up} and {warm_up + calls} calls under valgrind", file=sys.stderr)
    return (counted(step, warm_up + calls) - counted(step, warm_up)) / calls


def main(steps: list[str], calls: int) -> dict[str, Any]:
    counts = {step: round(per_call(step, calls)) for step in steps}
    found: dict[str, Any] = {
        "benchmark": "instructions",
        "setup": __doc__,
        "calls": calls,
        "instructions_per_call": counts,
    }
    if "create_dag" in counts and "raw_create_dag" in counts:
        found["create_dag_over_raw"] = round(counts["create_dag"] / counts["raw_create_dag"], 2)
    if "large_dag" in counts and "bare_large" in counts:
        per_node = (counts["large_dag"] - counts["bare_large"]) / LARGE_NODES
        found["large_dag_per_node_over_bare"] = round(per_node)
    return found


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run(lambda: child(args.child, args.calls))
        return
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    emit(main(steps, args.calls))


if __name__ == "__main__":
    cli()
