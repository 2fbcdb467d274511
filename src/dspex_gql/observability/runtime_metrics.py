"""Metrics read when scraped, from the objects that already keep them: nothing is counted on
the hot path for these. `watch` is given the sources once the runtime has started.

    collector.watch(lanes=orchestrator.lanes, outcomes=runs.outcomes, pubsub=hub)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class LaneLoad(Protocol):
    @property
    def waiting(self) -> int: ...

    @property
    def running(self) -> int: ...


class Losses(Protocol):
    @property
    def coalesced(self) -> int: ...

    @property
    def overflowed(self) -> int: ...


class PubSubLoad(Protocol):
    @property
    def backlog(self) -> int: ...

    @property
    def undelivered(self) -> int: ...

    @property
    def losses(self) -> Losses: ...


@dataclass(frozen=True)
class Sources:
    lanes: Callable[[], Mapping[str, LaneLoad]]
    outcomes: Mapping[tuple[str, str], int]
    """Runs ended, by kind and terminal status."""
    pubsub: PubSubLoad


class RuntimeCollector(Collector):
    def __init__(self) -> None:
        self._sources: Sources | None = None

    def watch(self, sources: Sources | None) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self._sources
        if sources is None:
            return
        yield from _lanes(sources.lanes())
        yield _outcomes(sources.outcomes)
        yield from _pubsub(sources.pubsub)


def _lanes(lanes: Mapping[str, LaneLoad]) -> Iterator[Metric]:
    waiting = GaugeMetricFamily(
        "dspex_orchestrator_jobs_waiting", "Jobs waiting for a slot, by lane", labels=["lane"]
    )
    running = GaugeMetricFamily(
        "dspex_orchestrator_jobs_running", "Jobs holding a slot, by lane", labels=["lane"]
    )
    for name, lane in lanes.items():
        waiting.add_metric([name], lane.waiting)
        running.add_metric([name], lane.running)
    yield waiting
    yield running


def _outcomes(outcomes: Mapping[tuple[str, str], int]) -> Metric:
    ended = CounterMetricFamily(
        "dspex_runs_finished",
        "Runs (executions, initializations, optimization and DAG runs) this process ended, by "
        "kind and terminal status",
        labels=["kind", "status"],
    )
    for (kind, status), count in sorted(
        dict(outcomes).items()
    ):  # a copy: the scrape may run in a thread
        ended.add_metric([kind, status], count)
    return ended


def _pubsub(hub: PubSubLoad) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "dspex_pubsub_backlog", "Events published and not yet sent to the backend", hub.backlog
    )
    yield CounterMetricFamily(
        "dspex_pubsub_undelivered",
        "Events dropped: the backend could not take them",
        hub.undelivered,
    )
    yield CounterMetricFamily(
        "dspex_pubsub_coalesced",
        "Events a subscriber never saw: a later one of the same key replaced it unread",
        hub.losses.coalesced,
    )
    yield CounterMetricFamily(
        "dspex_pubsub_overflowed_subscribers",
        "Subscriptions ended because they fell too far behind",
        hub.losses.overflowed,
    )
