"""Stored DAG versions, parsed and checked once per process.

A version's definition never changes once stored (`updateDag` stores a new version), so what
parsing it gives is kept by (DAG id, version): before its first node, a run of a 1,000-node DAG
spent ~6 ms parsing and ~4 ms validating the definition. Validation also depends on the programs'
signatures, which change apart from the DAG: a clean outcome is kept with the signatures it was
checked against, and only for those.

Only what was read from the database goes in (`executeDag`, retries, resumed runs), never a
definition a transaction is still writing: a version number whose transaction rolled back is
written again with other content.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar
from uuid import UUID

from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.flow import Signatures
from dspex_gql.engine.dags.parsing import parse_definition
from dspex_gql.engine.dags.validation import validate
from dspex_gql.errors import FieldProblem

NODES_KEPT = 20_000
"""Of parsed definitions, in all: ~10 MB (a parsed 1,000-node definition holds ~470 KiB)."""
CHECKS_KEPT = 1_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """The latest entries, least recently used dropped first once their sizes pass `capacity`."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._used = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int = 1) -> None:
        if key in self._entries:
            self._used -= self._entries.pop(key)[1]
        self._entries[key] = (value, size)
        self._used += size
        while self._used > self._capacity and len(self._entries) > 1:
            self._used -= self._entries.popitem(last=False)[1][1]


_parsed: _Recent[tuple[UUID, int], DagDefinition] = _Recent(NODES_KEPT)
_clean: _Recent[tuple[UUID, int, Hashable], bool] = _Recent(CHECKS_KEPT)


def stored_definition(dag_id: UUID, version: int, raw: Any) -> DagDefinition:
    """`parse_definition(raw)`, where `raw` is version `version` of the DAG as stored."""
    key = (dag_id, version)
    definition = _parsed.get(key)
    if definition is None:
        definition = parse_definition(raw)
        _parsed.put(key, definition, size=len(definition.nodes))
    return definition


def stored_definition_problems(
    dag_id: UUID, version: int, definition: DagDefinition, signatures: Signatures
) -> list[FieldProblem]:
    """`validate(definition, signatures)` for a stored version (`stored_definition`)."""
    key = (dag_id, version, tuple(sorted(signatures.items())))
    if _clean.get(key):
        return []
    problems = validate(definition, signatures)
    if not problems:
        _clean.put(key, True)
    return problems
