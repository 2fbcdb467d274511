"""What DSPy costs the service at start and on first use: import time and memory, each step in a
fresh interpreter, `--repeat` times.

    python -m bench.dspy_import [--repeat 3]

- `service`: `import dspex_gql.app` and the default adapter registry (the dspy adapter
  registered): what every start pays. The baseline.
- `service_then_dspy`: the same, then `load_dspy_sync()`, what the first `dspy` program's run
  adds (the adapter imports DSPy then, off the event loop).
- `service_then_litellm`: the same plus `import litellm`, which the service never does on its
  own (DSPy's native route calls OpenAI-compatible servers without it); for comparison.

Each figure: wall seconds of the import steps and the process's peak RSS (MiB) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench.common import emit, machine, versions

STEPS = {
    "service": "",
    "service_then_dspy": (
        "from dspex_gql.engine.adapters.dspy.loader import load_dspy_sync; load_dspy_sync()"
    ),
    "service_then_litellm": (
        "from dspex_gql.engine.adapters.dspy.loader import load_dspy_sync; load_dspy_sync(); "
        "import litellm"
    ),
}
PROBE = """
import json, resource, sys, time
started = time.perf_counter()
import dspex_gql.app
from dspex_gql.engine.adapters.registry import AdapterRegistry
AdapterRegistry.default()
service = time.perf_counter() - started
{extra}
total = time.perf_counter() - started
print(json.dumps({{
    "service_seconds": service,
    "total_seconds": total,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "dspy_loaded": "dspy" in sys.modules,
    "litellm_loaded": "litellm" in sys.modules,
}}))
"""


def once(extra: str) -> dict[str, Any]:
    environment = os.environ | {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(extra=extra)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def step(extra: str, repeat: int) -> dict[str, Any]:
    runs = [once(extra) for _ in range(repeat)]
    return {
        "service_seconds": round(statistics.median(r["service_seconds"] for r in runs), 3),
        "total_seconds": round(statistics.median(r["total_seconds"] for r in runs), 3),
        "peak_rss_mib": round(statistics.median(r["peak_rss_mib"] for r in runs), 1),
        "dspy_loaded": runs[0]["dspy_loaded"],
        "litellm_loaded": runs[0]["litellm_loaded"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {name: step(extra, args.repeat) for name, extra in STEPS.items()}
    base = results["service"]
    for name in ("service_then_dspy", "service_then_litellm"):
        results[name]["added_seconds"] = round(
            results[name]["total_seconds"] - base["total_seconds"], 3
        )
        results[name]["added_rss_mib"] = round(
            results[name]["peak_rss_mib"] - base["peak_rss_mib"], 1
        )
    emit(
        {
            "benchmark": "dspy_import",
            "machine": machine(),
            "versions": versions(),
            "repeat": args.repeat,
            **results,
        }
    )


if __name__ == "__main__":
    main()
