"""The audit rows of changes to spaces."""

from __future__ import annotations

from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.variable_spaces.helpers import (
    ADD,
    BOOL_A,
    DELETE,
    REMOVE,
    RETRIEVER,
    SMALL,
    UPDATE,
    USE_CACHE,
    create,
    new_program,
    run,
    space,
)

AUDIT_COUNT = """query($action: String!) {
  auditLogs(filter: {action: {eq: $action}}) { totalCount } }"""


async def audit_count(admin: GraphQLClient, action: str) -> int:
    count: int = (await admin.data(AUDIT_COUNT, action=action))["auditLogs"]["totalCount"]
    return count


ACTIONS = [
    f"variableSpace.{name}"
    for name in ("create", "update", "addVariable", "removeVariable", "delete")
]


async def audit_counts(admin: GraphQLClient) -> dict[str, int]:
    return {action: await audit_count(admin, action) for action in ACTIONS}


class TestAudit:
    async def test_each_change_writes_one_row(self, client: GraphQLClient) -> None:
        expected = dict.fromkeys(ACTIONS, 0)
        assert await audit_counts(client) == expected

        created = await space(client, SMALL)
        expected["variableSpace.create"] += 1
        assert await audit_counts(client) == expected

        id = created["id"]
        await run(client, UPDATE, id=id, input={"description": "now described"})
        expected["variableSpace.update"] += 1
        assert await audit_counts(client) == expected

        await run(client, ADD, id=id, variable=USE_CACHE)
        expected["variableSpace.addVariable"] += 1
        assert await audit_counts(client) == expected

        await run(client, REMOVE, id=id, name="use_cache")
        expected["variableSpace.removeVariable"] += 1
        assert await audit_counts(client) == expected

        await run(client, DELETE, id=id)
        expected["variableSpace.delete"] += 1
        assert await audit_counts(client) == expected

    async def test_the_row_names_the_space(self, client: GraphQLClient) -> None:
        created = await space(client, SMALL)

        data = await client.data(
            """{ auditLogs(filter: {action: {eq: "variableSpace.create"}}) {
                 nodes { resourceType resourceId changes } } }"""
        )

        assert data["auditLogs"]["nodes"] == [
            {
                "resourceType": "VariableSpace",
                "resourceId": created["id"],
                "changes": {"name": created["name"], "variables": ["temperature", "retriever"]},
            }
        ]

    async def test_a_refused_change_writes_nothing(self, client: GraphQLClient) -> None:
        vera = await member(client, "VIEWER")
        created = await space(client, SMALL, visibility="ORGANIZATION")
        program = await new_program(client, variableSpaceId=created["id"])
        id = created["id"]
        before = await audit_counts(client)
        total = (await client.data("{ auditLogs { totalCount } }"))["auditLogs"]["totalCount"]

        refused = [
            await create(client, [BOOL_A, BOOL_A]),
            await create(vera.client, SMALL),
            await run(client, UPDATE, id=id, input={"name": None}),
            await run(vera.client, UPDATE, id=id, input={"name": "x"}),
            await run(client, ADD, id=id, variable=RETRIEVER),
            await run(client, REMOVE, id=id, name="ghost"),
            await run(client, DELETE, id=id),
        ]

        assert [result["__typename"] for result in refused] == [
            "ValidationError",
            "ForbiddenError",
            "ValidationError",
            "ForbiddenError",
            "ValidationError",
            "ValidationError",
            "ConflictError",
        ]
        assert await audit_counts(client) == before
        after = (await client.data("{ auditLogs { totalCount } }"))["auditLogs"]["totalCount"]
        assert after == total
        assert program["__typename"] == "Program"
