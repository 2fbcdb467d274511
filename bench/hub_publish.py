"""Publishing run events through the hub: `--events` ExecutionChanged events, each on its two
channels (the execution's and its program's), published at once as a finished DAG run's calls
are, timed until a subscriber of the last event's channel has it.

Baselines in the same run, same backend: `per_message` publishes the same payloads one message at
a time through broadcaster (what the hub did before it sent its outbox in batches), and, on
Redis, `raw_pipeline` sends them with redis-py in one pipeline, without the hub. A networked
backend only (`redis://`, `postgres://`): memory:// is private to each `Broadcast`.

    python -m bench.hub_publish [--url redis://127.0.0.1:6379/0] [--events 2000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from broadcaster import Broadcast
from redis.asyncio import Redis

from bench.common import emit, log, machine, run, summarize, versions, warn_if_busy
from dspex_gql.executions.events import ExecutionChanged
from dspex_gql.executions.models import ExecutionStatus
from dspex_gql.pubsub import Hub

Messages = list[tuple[str, str]]


def events(count: int) -> list[ExecutionChanged]:
    program_id, now = uuid.uuid4(), datetime.now(UTC)
    return [
        ExecutionChanged(
            id=uuid.uuid4(),
            program_id=program_id,
            sequence=2,
            status=ExecutionStatus.COMPLETED,
            started_at=now,
            completed_at=now,
        )
        for _ in range(count)
    ]


async def timed(hub: Hub, last: ExecutionChanged, send: Callable[[], Awaitable[None]]) -> float:
    """ms from the first publish to the last event's arrival at a subscriber of its program's
    channel (which gets every event: they all arrive, in order)."""
    async with hub.subscribe(last.channels()[-1], ExecutionChanged) as arrivals:
        started = time.perf_counter()
        await send()
        async for arrived in arrivals:
            if arrived.id == last.id:
                return (time.perf_counter() - started) * 1000
    raise RuntimeError("the subscription ended before the last event came")


async def measure(url: str, count: int, repeats: int) -> dict[str, Any]:
    batch = events(count)
    messages: Messages = [
        (channel, event.model_dump_json()) for event in batch for channel in event.channels()
    ]
    samples: dict[str, list[float]] = {"hub": [], "per_message": []}
    redis = Redis.from_url(url) if url.startswith("redis") else None
    if redis is not None:
        samples["raw_pipeline"] = []
    async with Hub(url, buffer_size=len(messages)) as hub, Broadcast(url) as broadcast:

        async def through_hub() -> None:
            for event in batch:
                await hub.publish_on(event.channels(), event)

        async def per_message() -> None:
            for channel, message in messages:
                await broadcast.publish(channel, message)

        async def raw_pipeline() -> None:
            assert redis is not None
            pipeline = redis.pipeline(transaction=False)
            for channel, message in messages:
                pipeline.publish(channel, message)
            await pipeline.execute()

        ways = {"hub": through_hub, "per_message": per_message, "raw_pipeline": raw_pipeline}
        for repeat in range(repeats + 1):  # the first round warms up
            for name in samples:
                elapsed = await timed(hub, batch[-1], ways[name])
                if repeat:
                    samples[name].append(elapsed)
    if redis is not None:
        await redis.aclose()
    found = {name: summarize(values) for name, values in samples.items()}
    per_event = {
        name: round(statistics.median(values) / count * 1000, 1) for name, values in samples.items()
    }
    return {"ms": found, "us_per_event_median": per_event}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = warn_if_busy()
    log(f"{args.events} events x 2 channels on {args.url}, {args.repeats} rounds")
    figures = await measure(args.url, args.events, args.repeats)
    return {
        "benchmark": "hub_publish",
        "setup": (
            "one process, one event loop; the hub and a subscriber of the last event's channel "
            "on the same backend; every way publishes the same messages in the same order"
        ),
        "url": args.url,
        "events": args.events,
        "versions": versions("broadcaster", "redis"),
        "machine": machine() | {"load_average_1m_before": load_before},
        **figures,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.url.startswith("memory"):
        parser.error("a networked backend: memory:// is private to each Broadcast")
    emit(run(lambda: main(args)))


if __name__ == "__main__":
    cli()
