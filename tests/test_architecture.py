"""The import rules of DESIGN.md.

import-linter checks the contracts in pyproject.toml. Two of them name the packages above the
resources and the foundation below them; every other top-level package is a resource (today
signatures/, programs/, executions/, ...). The tests below hold each resource to its place
whatever its name, so a new one (dags/, workers/) is covered as soon as it exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = "dspex_gql"


def test_imports_follow_the_contracts() -> None:
    lint_imports = shutil.which("lint-imports")
    assert lint_imports, "import-linter is a dev dependency: pip install -e '.[dev]'"

    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


@dataclass(frozen=True)
class Layering:
    """The top-level packages of dspex_gql by where they sit: `above` the resources (entry
    points, GraphQL, the composition root), the `resources`, and the foundation `below` them."""

    above: frozenset[str]
    resources: frozenset[str]
    below: frozenset[str]

    @classmethod
    def of(cls, graph: grimp.ImportGraph) -> Layering:
        above, below = named_by("above-resources"), named_by("below-resources")
        packages = {child.removeprefix(f"{PACKAGE}.") for child in graph.find_children(PACKAGE)}
        return cls(above, frozenset(packages - above - below), below)


def named_by(contract_id: str) -> frozenset[str]:
    """The packages a layers contract in pyproject.toml names, e.g. `db` for `dspex_gql.db`."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = settings["tool"]["importlinter"]["contracts"]
    [contract] = [contract for contract in contracts if contract.get("id") == contract_id]
    modules = re.split(r"[|:]", "|".join(contract["layers"]))
    return frozenset(module.strip(" ()").removeprefix(f"{PACKAGE}.") for module in modules)


def package_of(module: str) -> str | None:
    """`dspex_gql.programs.service` -> `programs`; None for anything outside the package."""
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def in_graphql_layer(module: str) -> bool:
    """A resource's `schema` module (or package) is its part of the GraphQL layer."""
    parts = module.split(".")
    return len(parts) > 2 and parts[2] == "schema"


def modules_in(graph: grimp.ImportGraph, packages: frozenset[str]) -> Iterator[str]:
    return (module for module in sorted(graph.modules) if package_of(module) in packages)


def resource_modules_below_graphql(graph: grimp.ImportGraph, layering: Layering) -> Iterator[str]:
    return (m for m in modules_in(graph, layering.resources) if not in_graphql_layer(m))


def imports_of(graph: grimp.ImportGraph, module: str) -> list[str]:
    return sorted(graph.find_modules_directly_imported_by(module))


def foundation_imports_from_above(graph: grimp.ImportGraph, layering: Layering) -> list[str]:
    return [
        f"{module} -> {imported}"
        for module in modules_in(graph, layering.below)
        for imported in imports_of(graph, module)
        if package_of(imported) not in layering.below | {None}
    ]


def resource_imports_from_above(graph: grimp.ImportGraph, layering: Layering) -> list[str]:
    return [
        f"{module} -> {imported}"
        for module in resource_modules_below_graphql(graph, layering)
        for imported in imports_of(graph, module)
        if package_of(imported) in layering.above
    ]


def imports_of_other_services(graph: grimp.ImportGraph, layering: Layering) -> list[str]:
    return [
        f"{module} -> {imported}"
        for module in resource_modules_below_graphql(graph, layering)
        for imported in imports_of(graph, module)
        if imported.split(".")[2:3] == ["service"]
        and package_of(imported) in layering.resources - {package_of(module)}
    ]


def strawberry_below_graphql(graph: grimp.ImportGraph, layering: Layering) -> list[str]:
    chains = (
        graph.find_shortest_chain(importer=module, imported="strawberry")
        for module in resource_modules_below_graphql(graph, layering)
    )
    return [" -> ".join(chain) for chain in chains if chain]


def project_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, include_external_packages=True, cache_dir=None)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return project_graph()


@pytest.fixture(scope="module")
def layering(graph: grimp.ImportGraph) -> Layering:
    return Layering.of(graph)


class TestTheLayers:
    def test_the_resources_are_the_packages_no_contract_names(self, layering: Layering) -> None:
        assert {"signatures", "programs", "executions", "accounts"} <= layering.resources
        assert {"graphql", "runtime"} <= layering.above
        assert {"db", "policies", "identity", "engine"} <= layering.below

    def test_the_foundation_imports_only_the_foundation(
        self, graph: grimp.ImportGraph, layering: Layering
    ) -> None:
        assert foundation_imports_from_above(graph, layering) == []

    def test_resources_import_nothing_above_them_outside_their_schema(
        self, graph: grimp.ImportGraph, layering: Layering
    ) -> None:
        assert resource_imports_from_above(graph, layering) == []

    def test_resources_do_not_import_each_others_services(
        self, graph: grimp.ImportGraph, layering: Layering
    ) -> None:
        assert imports_of_other_services(graph, layering) == []

    def test_resources_import_strawberry_only_in_their_schema(
        self, graph: grimp.ImportGraph, layering: Layering
    ) -> None:
        assert strawberry_below_graphql(graph, layering) == []


class TestANewResourcePackage:
    """`dags/`, added beside the others without a word in pyproject.toml."""

    @pytest.fixture
    def graph(self) -> grimp.ImportGraph:
        graph = project_graph()
        for module in ("dags", "dags.models", "dags.schema", "dags.service", "dags.compile"):
            graph.add_module(f"{PACKAGE}.{module}")
        return graph

    def test_is_a_resource(self, graph: grimp.ImportGraph) -> None:
        assert "dags" in Layering.of(graph).resources

    def test_may_import_strawberry_in_its_schema(self, graph: grimp.ImportGraph) -> None:
        graph.add_import(importer=f"{PACKAGE}.dags.schema", imported="strawberry")

        assert strawberry_below_graphql(graph, Layering.of(graph)) == []

    def test_may_not_import_strawberry_elsewhere_even_indirectly(
        self, graph: grimp.ImportGraph
    ) -> None:
        graph.add_import(importer=f"{PACKAGE}.dags.service", imported=f"{PACKAGE}.dags.compile")
        graph.add_import(importer=f"{PACKAGE}.dags.compile", imported="strawberry")

        assert strawberry_below_graphql(graph, Layering.of(graph)) == [
            "dspex_gql.dags.compile -> strawberry",
            "dspex_gql.dags.service -> dspex_gql.dags.compile -> strawberry",
        ]

    def test_may_not_import_another_resource_s_service(self, graph: grimp.ImportGraph) -> None:
        graph.add_import(importer=f"{PACKAGE}.dags.service", imported=f"{PACKAGE}.programs.service")

        assert imports_of_other_services(graph, Layering.of(graph)) == [
            "dspex_gql.dags.service -> dspex_gql.programs.service"
        ]

    def test_may_not_be_imported_by_the_foundation(self, graph: grimp.ImportGraph) -> None:
        graph.add_import(importer=f"{PACKAGE}.db.repository", imported=f"{PACKAGE}.dags.models")

        assert foundation_imports_from_above(graph, Layering.of(graph)) == [
            "dspex_gql.db.repository -> dspex_gql.dags.models"
        ]
