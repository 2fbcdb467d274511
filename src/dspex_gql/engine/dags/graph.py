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
    known = edges.__contains__
    return {name: tuple(dict.fromkeys(filter(known, deps))) for name, deps in edges.items()}


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
    """Levels (each in definition order) and the nodes left in or after cycles: level 0 holds
    the nodes without dependencies, level n those whose deepest dependency is in level n - 1."""
    depth = depths(edges)
    levels: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for name in edges:
        if name in depth:
            levels[depth[name]].append(name)
    return levels, set(edges) - depth.keys()


def topological_order(edges: Edges) -> list[str]:
    """The nodes of `topological_levels`, level after level: every node after its dependencies;
    the nodes in or after cycles are left out."""
    depth = depths(edges)
    return sorted(filter(depth.__contains__, edges), key=depth.__getitem__)  # a stable sort


def depths(edges: Edges) -> dict[str, int]:
    """Each node's level (see `topological_levels`); the nodes in or after cycles have none.

    One pass in definition order settles every node written after its dependencies (the usual
    way to write one); `_settle` takes the others."""
    depth: dict[str, int] = {}
    depth_of = depth.__getitem__
    later = []
    for name, dependencies in edges.items():
        try:
            depth[name] = 1 + max(map(depth_of, dependencies)) if dependencies else 0
        except KeyError:  # a dependency not settled yet
            later.append(name)
    if later:
        _settle(edges, later, depth)
    return depth


def _settle(edges: Edges, later: list[str], depth: dict[str, int]) -> None:
    """Kahn's algorithm over the nodes `depths` left for later: each gets its depth once all its
    dependencies have one; those in or after cycles never do."""
    waiting = {name: sum(d not in depth for d in edges[name]) for name in later}
    dependents: dict[str, list[str]] = {name: [] for name in later}
    for name in later:
        for dependency in edges[name]:
            if dependency in dependents:
                dependents[dependency].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    while ready:
        name = ready.pop()
        depth[name] = 1 + max(map(depth.__getitem__, edges[name]))
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
