"""Set-up through the service's own GraphQL API, as a client would do it (with its API key)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.httpclient import Connection, graphql

CREATE_PROGRAM = """
mutation($input: CreateProgramInput!) {
  createProgram(input: $input) {
    __typename
    ... on Program { id name status type signature { id } }
    ... on Error { message code }
  }
}
"""


async def create_program(connection: Connection, api_key: str, **fields: Any) -> dict[str, Any]:
    data = await graphql(connection, CREATE_PROGRAM, {"input": fields}, api_key=api_key)
    program: dict[str, Any] = data["createProgram"]
    if program["__typename"] != "Program":
        raise RuntimeError(f"createProgram failed: {program}")
    return program


async def create_programs(
    port: int, api_key: str, count: int, *, concurrency: int = 8
) -> list[dict[str, Any]]:
    """`count` DRAFT programs sharing one signature, created `concurrency` at a time."""
    connections = [await Connection.open(port) for _ in range(concurrency)]
    try:
        first = await create_program(
            connections[0], api_key, name="bench-0000", signatureSpec="question -> answer"
        )
        signature_id = first["signature"]["id"]
        names = iter(range(1, count))
        created = [first]

        async def worker(connection: Connection) -> None:
            for number in names:
                program = await create_program(
                    connection, api_key, name=f"bench-{number:04d}", signatureId=signature_id
                )
                created.append(program)

        await asyncio.gather(*(worker(c) for c in connections))
        return created
    finally:
        for connection in connections:
            await connection.close()
