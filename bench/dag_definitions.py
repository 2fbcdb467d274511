"""Parsing and validating a DAG definition (what createDag, updateDag and every executeDag do),
against a bare walk of the same data.

    python -m bench.dag_definitions [--repeats 15]   # ~20 s, no database

For `chain` and `wide` definitions (`bench.dags`) of 100 and 1000 PROGRAM nodes over one program
`question -> answer`: the median µs per call, over `--repeats` `timeit` repeats, of
`parse_definition` (client JSON → `DagDefinition`) and of `validate` (that definition against
the program's signature; it finds no problem). The calls after the first find the references and
names in `definition.py`'s caches, as a definition read again (every `executeDag`) does.
Baseline `json_round_trip`: `json.loads(json.dumps(definition))` of the same JSON, in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import timeit
from collections.abc import Callable
from typing import Any

from bench.common import emit, log, machine, versions
from bench.dags import chain, wide
from dspex_gql.engine.dags.parsing import parse_definition
from dspex_gql.engine.dags.validation import validate
from dspex_gql.engine.signatures import parse_signature

PROGRAM_ID = "program"
SIGNATURES = {PROGRAM_ID: parse_signature("question -> answer")}
SHAPES = {"chain": chain, "wide": wide}
SIZES = (100, 1000)


def median_us(call: Callable[[], object], calls: int, repeats: int) -> float:
    seconds = timeit.Timer(call).repeat(repeat=repeats, number=calls)
    return round(statistics.median(seconds) / calls * 1e6, 1)


def measure(raw: dict[str, Any], repeats: int) -> dict[str, float]:
    definition = parse_definition(raw)
    if problems := validate(definition, SIGNATURES):
        raise RuntimeError(f"the definition is not valid: {problems[:3]}")
    calls = max(1, 20_000 // len(raw["nodes"]))  # about 0.1 s a repeat
    return {
        "parse_us": median_us(lambda: parse_definition(raw), calls, repeats),
        "validate_us": median_us(lambda: validate(definition, SIGNATURES), calls, repeats),
        "json_round_trip_us": median_us(lambda: json.loads(json.dumps(raw)), calls, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for shape, build in SHAPES.items():
        for size in SIZES:
            log(f"{shape} of {size} nodes")
            found = measure(build(PROGRAM_ID, size), args.repeats)
            found["parse_plus_validate_us"] = round(found["parse_us"] + found["validate_us"], 1)
            results[f"{shape}_{size}"] = found
    emit(
        {
            "benchmark": "dag_definitions",
            "unit": f"median µs per call over {args.repeats} timeit repeats",
            **results,
            "versions": versions(),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
