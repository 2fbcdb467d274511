"""Rows get UUIDv7 ids, increasing in the order they were made (`ids.py`): new rows go to the end
of the indexes on their ids instead of a random place."""

from __future__ import annotations

from uuid import UUID

from dspex_gql.ids import new_id
from tests.support.factories import create_program, create_signature, execute
from tests.support.http_client import GraphQLClient


def test_ids_made_one_after_another_increase() -> None:
    ids = [new_id() for _ in range(10_000)]

    assert {id.version for id in ids} == {7}
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_what_a_client_creates_has_ids_in_the_order_it_was_made(
    client: GraphQLClient,
) -> None:
    signatures = [UUID((await create_signature(client))["id"]) for _ in range(5)]
    program = await create_program(client)
    executions = [UUID((await execute(client, program["id"], wait=True))["id"]) for _ in range(5)]

    for ids in (signatures, executions):
        assert {id.version for id in ids} == {7}
        assert ids == sorted(ids)
    assert max(signatures) < UUID(program["id"]) < min(executions)
