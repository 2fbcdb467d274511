"""Shared rate-limit takes (Redis buckets): this process's CPU per take, `--concurrency` takes
asked for at once (requests or sockets arriving together), `--takes` in all.

Same run, same Redis: `service` is `RedisBuckets.limiter(...).take` (the takes asked for at once
go as one script call); the baseline `raw_per_take` runs the same script with redis-py for one
bucket at a time, one EVALSHA per take, as the buckets did before they batched.

    python -m bench.rate_limit_takes [--url redis://127.0.0.1:6379/0] [--takes 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bench.common import emit, log, machine, run, versions, warn_if_busy
from dspex_gql.ratelimit import RedisBuckets
from dspex_gql.ratelimit.shared import TAKE, bucket_key

CAPACITY, PER_SECOND = 10**9, 10**9
"""A budget no run uses up: every take is allowed, as under a normal load."""

Take = Callable[[str], Awaitable[float]]


async def cpu_us_per_take(take: Take, keys: list[str], total: int, concurrency: int) -> float:
    """Process CPU per take, `concurrency` takes asked for at once, until `total` are taken."""
    started = time.process_time()
    for start in range(0, total, concurrency):
        batch = keys[start % len(keys) : start % len(keys) + concurrency]
        waits = await asyncio.gather(*(take(key) for key in batch))
        if any(waits):
            raise RuntimeError(f"a take was refused: {waits}")
    return (time.process_time() - started) / total * 1e6


async def measure(url: str, total: int, concurrency: int, rounds: int) -> dict[str, Any]:
    keys = [f"bench-{uuid.uuid4().hex}" for _ in range(1000)]
    async with RedisBuckets(url, timeout=1.0) as buckets, Redis.from_url(url) as redis:
        limiter = buckets.limiter("bench", CAPACITY, PER_SECOND)
        script = redis.register_script(TAKE)
        ttl_ms = 2000

        async def raw(key: str) -> float:
            [wait] = await script(keys=[bucket_key("bench", key)], args=[CAPACITY, 1e9, ttl_ms])
            return float(wait)

        service_us, raw_us = [], []
        for _ in range(rounds):  # alternated: the machine's speed moves within minutes
            service_us.append(await cpu_us_per_take(limiter.take, keys, total, concurrency))
            raw_us.append(await cpu_us_per_take(raw, keys, total, concurrency))
    best_service, best_raw = min(service_us), min(raw_us)
    return {
        "service_cpu_us_per_take": round(best_service, 1),
        "raw_per_take_cpu_us_per_take": round(best_raw, 1),
        "service_over_raw": round(best_service / best_raw, 2),
        "rounds_service_us": [round(us, 1) for us in service_us],
        "rounds_raw_us": [round(us, 1) for us in raw_us],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--takes", type=int, default=20_000, help="per round and concurrency")
    parser.add_argument("--concurrency", default="1,4,16,64", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warn_if_busy()
    found: dict[str, Any] = {}
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        log(f"{args.takes} takes, {concurrency} at once, {args.rounds} rounds each way")
        found[str(concurrency)] = await measure(args.url, args.takes, concurrency, args.rounds)
    emit(
        {
            "benchmark": "rate_limit_takes",
            "setup": "one process, one Redis; CPU of this process (client side) per take, the "
            "best of the rounds; every take allowed",
            "versions": versions("redis"),
            "machine": machine(),
            "by_concurrency": found,
        }
    )


if __name__ == "__main__":
    run(main)
