"""Print which of dspex_gql's top-level packages import which, and any cycles among them.

A resource's `schema` module (its part of the GraphQL layer) and its `models` module (its tables)
are shown apart from the rest of the package, e.g. `programs.schema`, `programs.models`;
`--packages` shows whole packages instead. Two names print the module imports behind one arrow:

    scripts/import-graph
    scripts/import-graph --packages
    scripts/import-graph policies accounts
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable, Iterator

import grimp

ROOT = "dspex_gql"
SHOWN_APART = ("schema", "models")
"""Modules of a package shown as nodes of their own, outside the `graphql` package."""

Graph = dict[str, set[str]]
Naming = Callable[[str], "str | None"]


def package_of(module: str) -> str | None:
    """`dspex_gql.accounts.models` -> `accounts`; the root package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def node_of(module: str) -> str | None:
    """`dspex_gql.programs.models` -> `programs.models`; `dspex_gql.programs.x` -> `programs`."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] != "graphql" and parts[2] in SHOWN_APART:
        return f"{parts[1]}.{parts[2]}"
    return package_of(module)


def in_graphql_layer(node: str) -> bool:
    """The `graphql` package and every resource's schema: one layer, whose types refer to each
    other."""
    return node == "graphql" or node.endswith(".schema")


def graph_of(modules: grimp.ImportGraph, name: Naming) -> Graph:
    graph: Graph = defaultdict(set)
    for importer in modules.modules:
        source = name(importer)
        if source is None:
            continue
        graph[source]
        for imported in modules.find_modules_directly_imported_by(importer):
            target = name(imported)
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                lowest[node] = min(lowest[node], lowest[target])
            elif target in stack:
                lowest[node] = min(lowest[node], index[target])
        if lowest[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def print_graph(graph: Graph) -> None:
    width = max(map(len, graph))
    print(f"Imports between the top-level packages of {ROOT} (A -> what A imports):")
    for source in sorted(graph):
        print(f"  {source:<{width}} -> {', '.join(sorted(graph[source])) or '(nothing)'}")
    found = cycles(graph)
    print(f"Cycles: {len(found) or 'none'}")
    for component in found:
        within = " (within the GraphQL layer)" if all(map(in_graphql_layer, component)) else ""
        print(f"  {' <-> '.join(component)}{within}")
        for source in component:
            print(f"    {source} -> {', '.join(sorted(graph[source] & set(component)))}")


def module_imports(modules: grimp.ImportGraph, source: str, target: str) -> Iterator[str]:
    for importer in sorted(modules.modules):
        if package_of(importer) != source:
            continue
        for imported in sorted(modules.find_modules_directly_imported_by(importer)):
            if package_of(imported) == target:
                yield f"  {importer} -> {imported}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", action="store_true", help="whole packages only")
    parser.add_argument("arrow", nargs="*", metavar="PACKAGE", help="importer and imported")
    arguments = parser.parse_args()
    modules = grimp.build_graph(ROOT, cache_dir=None)
    if len(arguments.arrow) == 2:
        print("\n".join(module_imports(modules, *arguments.arrow)))
    elif arguments.arrow:
        parser.error("give two packages, or none")
    else:
        print_graph(graph_of(modules, package_of if arguments.packages else node_of))


if __name__ == "__main__":
    main()
