"""Per-request DataLoaders: nested fields of a list load in one query per field, not per row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from dspex_gql.runtime import Services

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _by_key(
    fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: Any = None
) -> Callable[[list[K]], Awaitable[list[V]]]:
    async def load(keys: list[K]) -> list[V]:
        found = await fetch(keys)
        return [found.get(key, default) for key in keys]

    return load


class Loaders:
    def __init__(self, services: Services, *, cache: bool = True) -> None:
        signatures, programs = services.signatures, services.programs

        def loader(
            fetch: Callable[[list[Any]], Awaitable[Mapping[Any, Any]]], default: Any = None
        ) -> DataLoader[Any, Any]:
            return DataLoader(load_fn=_by_key(fetch, default), cache=cache)

        self.program_signature: DataLoader[UUID, Any] = loader(signatures.for_programs)
        self.signature_program_count: DataLoader[UUID, int] = loader(signatures.program_counts, 0)
        self.program: DataLoader[UUID, Any] = loader(programs.get_many)
        self.program_stats: DataLoader[UUID, Any] = loader(services.executions.stats)
        self.program_children: DataLoader[UUID, list[Any]] = loader(programs.children, [])
        self.user: DataLoader[UUID, Any] = loader(services.accounts.get_many)
        spaces, optimizations = services.variable_spaces, services.optimizations
        self.variable_space: DataLoader[UUID, Any] = loader(spaces.get_many)
        self.variable_space_program_count: DataLoader[UUID, int] = loader(spaces.program_counts, 0)
        self.program_optimization_stats: DataLoader[UUID, Any] = loader(optimizations.stats)
        self.evaluation_counts: DataLoader[UUID, Any] = loader(
            optimizations.evaluation_counts, (0, None)
        )
        dag_runs = services.dag_runs
        self.execution: DataLoader[UUID, Any] = loader(services.executions.get_many)
        self.dag: DataLoader[UUID, Any] = loader(services.dags.get_many)
        self.dag_run: DataLoader[UUID, Any] = loader(dag_runs.get_many)
        self.dag_run_nodes: DataLoader[tuple[UUID, tuple[str, ...]], list[Any]] = loader(
            dag_runs.node_rows, []
        )
        self.dag_versions: DataLoader[UUID, list[Any]] = loader(services.dags.versions, [])
