"""What the input check (`graphql/input_check.py`: unstorable text, too deep JSON) costs per
request.

    python -m bench.input_check [--database-url URL] [--requests 1000]   # ~30 s

`check_us`: the check alone (`unstorable_variable` + `unstorable_literal`, as `InputCheck`
runs them) on a typical mutation's variables, on 256 KiB of execution inputs (the largest the
service takes), and on a document with a `\\u00e9` escape (literals are walked only for NUL
escapes).
`mutation_ms`: a typical mutation (`updateProgram` of name, description and tags) sent through
the app in process (httpx ASGI transport, the admin's API key), `--requests` sequential requests
each `with_check` and `without_check`, alternating request by request so that the machine's
other load falls on both alike (without: the extension's hook is the base class's, which
Strawberry skips).
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any

import httpx2 as httpx
from graphql import parse
from strawberry.extensions import SchemaExtension

from bench.common import (
    add_database_argument,
    bench_database,
    create_bench_organization,
    emit,
    log,
    machine,
    run,
    service_settings,
    summarize,
    versions,
)
from dspex_gql.app import create_app
from dspex_gql.graphql.input_check import InputCheck, unstorable_literal, unstorable_variable

UPDATE = """mutation($id: ID!, $name: String!, $description: String!, $tags: [String!]!) {
  updateProgram(id: $id, input: {name: $name, description: $description, tags: $tags}) {
    __typename ... on Program { id name } ... on Error { message } } }"""
ESCAPED = 'mutation { createSignature(input: {name: "caf\\u00e9", spec: "q -> a"}) { __typename } }'


def typical(program_id: str, n: int) -> dict[str, Any]:
    return {
        "id": program_id,
        "name": f"qa-cot-{n}",
        "description": "Chain of thought over retrieved context, tuned for short answers.",
        "tags": ["demo", "rag", "cot"],
    }


def check_cost_us(query: str, variables: dict[str, Any], number: int) -> float:
    document = parse(query)
    seconds = timeit.timeit(
        lambda: unstorable_variable(variables) or unstorable_literal(query, document), number=number
    )
    return round(seconds / number * 1e6, 2)


def check_costs() -> dict[str, float]:
    fields = {f"field_{i}": ["x" * 100, {"n": i, "text": "y" * 100}] for i in range(1200)}
    large = {"inputs": fields}
    return {
        "typical_mutation": check_cost_us(UPDATE, typical("p", 0), 20_000),
        "inputs_256_kib": check_cost_us("mutation { __typename }", large, 50),
        "document_with_escapes": check_cost_us(ESCAPED, {}, 20_000),
    }


async def mutation_times(args: argparse.Namespace) -> dict[str, Any]:
    async with bench_database(args.database_url) as database:
        organization = await create_bench_organization(database.url)
        app = create_app(service_settings(database.url))
        headers = {"authorization": organization.authorization}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                program_id = await create_program(http, headers)
                samples = await phases(http, headers, program_id, args)
        return {"database": database.describe(), **samples}


async def create_program(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    query = """mutation { createProgram(input: {name: "bench", signatureSpec: "q -> a"}) {
        ... on Program { id } } }"""
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    program_id: str = response.json()["data"]["createProgram"]["id"]
    return program_id


async def phases(
    http: httpx.AsyncClient, headers: dict[str, str], program_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    hooks: dict[str, Any] = {
        "with_check": InputCheck.on_execute,
        "without_check": SchemaExtension.on_execute,
    }
    samples: dict[str, list[float]] = {phase: [] for phase in hooks}
    for n in range(2 * args.requests):
        phase = "with_check" if n % 2 == 0 else "without_check"
        InputCheck.on_execute = hooks[phase]  # type: ignore[method-assign]
        payload = {"query": UPDATE, "variables": typical(program_id, n)}
        started = timeit.default_timer()
        response = await http.post("/graphql", json=payload, headers=headers)
        samples[phase].append((timeit.default_timer() - started) * 1000)
        assert "errors" not in response.json(), response.text
    InputCheck.on_execute = hooks["with_check"]  # type: ignore[method-assign]
    return {phase: summarize(values) for phase, values in samples.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_argument(parser)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    costs = check_costs()
    log(f"check alone: {costs}")
    emit(
        {
            "benchmark": "input_check",
            "check_us": costs,
            "mutation_ms": await mutation_times(args),
            "versions": versions(),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    run(main)
