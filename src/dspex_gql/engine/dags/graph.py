"""The dependency graph of a definition: edges, upstream sets, cycles, topological levels.

These tolerate invalid definitions (duplicate names, unknown dependencies): the first node of a
name wins and unknown dependencies are left out, so validation can report everything at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from dspex_gql.engine.dags.definition import DagDefinition

Edges = Mapping[str, tuple[str, ...]]


def dependency_edges(definition: DagDefinition) -> dict[str, tuple[str, ...]]:
    """Each node name → its known dependencies, in definition order."""
    edges: dict[str, tuple[str, ...]] = {}
    for node in definition.nodes:
        edges.setdefault(node.name, node.dependencies)
    return {
        name: tuple(dict.fromkeys(d for d in deps if d in edges)) for name, deps in edges.items()
    }


def upstream(edges: Edges, name: str) -> set[str]:
    """Every node `name` depends on, directly or transitively."""
    seen: set[str] = set()
    queue = deque(edges.get(name, ()))
    while queue:
        current = queue.popleft()
        if current not in seen:
            seen.add(current)
            queue.extend(edges.get(current, ()))
    return seen


def find_cycles(edges: Edges) -> list[tuple[str, ...]]:
    """Each cycle once, as a path from a node back to it: `("a", "b", "a")`."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: dict[frozenset[str], tuple[str, ...]] = {}
    for start in edges:
        if start not in state:
            _walk(edges, start, state, cycles)
    return list(cycles.values())


def _walk(
    edges: Edges, start: str, state: dict[str, int], cycles: dict[frozenset[str], tuple[str, ...]]
) -> None:
    """Depth-first from `start` without recursion, recording each back edge's cycle."""
    path = [start]
    pending = [iter(edges[start])]
    state[start] = 1
    while pending:
        following = next(pending[-1], None)
        if following is None:
            state[path.pop()] = 2
            pending.pop()
        elif state.get(following) == 1:
            cycle = (*path[path.index(following) :], following)
            cycles.setdefault(frozenset(cycle), cycle)
        elif following not in state:
            state[following] = 1
            path.append(following)
            pending.append(iter(edges[following]))


def topological_levels(edges: Edges) -> tuple[list[list[str]], set[str]]:
    """Levels (Kahn's algorithm, each in definition order) and the nodes left in or after cycles."""
    order = {name: index for index, name in enumerate(edges)}
    waiting = {name: len(deps) for name, deps in edges.items()}
    dependents: dict[str, list[str]] = {name: [] for name in edges}
    for name, deps in edges.items():
        for dependency in deps:
            dependents[dependency].append(name)
    level = [name for name, count in waiting.items() if count == 0]
    levels: list[list[str]] = []
    while level:
        levels.append(level)
        for name in level:
            for dependent in dependents[name]:
                waiting[dependent] -= 1
        ready = {d for name in level for d in dependents[name] if waiting[d] == 0}
        level = sorted(ready, key=order.__getitem__)
    planned = {name for level in levels for name in level}
    return levels, set(edges) - planned
