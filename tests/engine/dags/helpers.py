"""Build definitions and signatures tersely for the DAG engine tests."""

from __future__ import annotations

from typing import Any

from dspex_gql.engine.dags.definition import DagDefinition
from dspex_gql.engine.dags.parsing import parse_definition
from dspex_gql.engine.dags.validation import validate
from dspex_gql.engine.signatures import ParsedSignature, parse_signature

SIGNATURES: dict[str, ParsedSignature | None] = {
    "retrieve": parse_signature("question: str -> passages: list[str], score: float"),
    "answer": parse_signature("question: str, passages: list[str] -> answer: str"),
    "summarize": parse_signature("passage: str -> summary: str"),
    "count": parse_signature("question: str -> n: int, verdict: Literal['yes', 'no']"),
    "weigh": parse_signature("weight: float -> label: str"),
    "label": parse_signature("verdict: str -> label: str"),
    "other-tenant": None,
}


def node(name: str, program: str | None = None, *deps: str, **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": name, "dependencies": list(deps), **fields}
    if program is not None:
        raw["programId"] = program
    return raw


def dag(*nodes: dict[str, Any]) -> DagDefinition:
    return parse_definition({"nodes": list(nodes)})


def problems(*nodes: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, code, message) of each problem `validate` reports."""
    found = validate(dag(*nodes), SIGNATURES)
    return [(problem.field, problem.code, problem.message) for problem in found]
