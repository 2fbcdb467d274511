"""Reading the log: who may, its order, pages and filters, and only its own organization's rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.audit.helpers import UPDATE_SIGNATURE, Node, Team, every_row, logs
from tests.support.factories import create_signature
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant


class TestWhoReadsTheLog:
    @pytest.mark.parametrize("role", ["USER", "VIEWER"])
    async def test_only_admins(self, client: GraphQLClient, role: str) -> None:
        someone = await member(client, role)

        errors = await someone.client.errors("{ auditLogs { totalCount nodes { id } } }")

        assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"]
        assert errors[0]["message"] == "Only admins can read the audit log"

    async def test_not_without_a_credential(self, client: GraphQLClient) -> None:
        errors = await client.acting_as(None).errors("{ auditLogs { totalCount } }")

        assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"]


@dataclass(frozen=True)
class History:
    """A log written in a known order, and another organization's beside it."""

    team: Team
    first: Node
    """Admin's signature, created then updated."""
    second: Node
    """Admin's signature."""
    alices: Node
    """Alice's signature."""
    other_admin: GraphQLClient
    other_signature: Node


@pytest.fixture(scope="class")
async def history(team: Team) -> AsyncIterator[History]:
    admin = team.admin
    first = await create_signature(admin)
    second = await create_signature(admin)
    await admin.data(UPDATE_SIGNATURE, id=first["id"], input={"description": "d"})
    alices = await create_signature(team.alice.client)
    other = await new_tenant(team.app)
    async with GraphQLClient.for_app(team.app, other.admin_key) as other_admin:
        other_signature = await create_signature(other_admin)
        await other_admin.data(UPDATE_SIGNATURE, id=other_signature["id"], input={"name": "o"})
        yield History(team, first, second, alices, other_admin, other_signature)


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


class TestReadingTheLog:
    async def test_newest_first_by_default(self, history: History) -> None:
        rows = await every_row(history.team.admin)

        moments = [parse(row["createdAt"]) for row in rows]
        assert moments == sorted(moments, reverse=True)
        assert rows[0]["resourceId"] == history.alices["id"]
        first_two = {row["action"] for row in rows[-2:]}  # one transaction: their order may tie
        assert first_two == {"organization.create", "apiKey.create"}

    async def test_oldest_first_when_asked(self, history: History) -> None:
        newest_first = await every_row(history.team.admin)

        oldest_first = await every_row(
            history.team.admin, orderBy=[{"field": "CREATED_AT", "direction": "ASC"}]
        )

        assert [row["id"] for row in oldest_first] == [row["id"] for row in newest_first][::-1]

    @pytest.mark.parametrize("size", [1, 2, 3, 5])
    async def test_pages_give_every_row_once(self, history: History, size: int) -> None:
        admin = history.team.admin
        everything = await logs(admin, first=1000)

        walked: list[str] = []
        after = None
        while True:
            page = await logs(admin, first=size, after=after)
            assert page["totalCount"] == everything["totalCount"]
            assert len(page["nodes"]) <= size
            assert [edge["node"]["id"] for edge in page["edges"]] == [
                row["id"] for row in page["nodes"]
            ]
            walked += [row["id"] for row in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

        assert walked == [row["id"] for row in everything["nodes"]]
        assert len(walked) == everything["totalCount"]

    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({"action": {"eq": "signature.create"}}, ["alices", "second", "first"]),
            ({"action": {"startsWith": "signature."}}, ["alices", "first:u", "second", "first"]),
            ({"resourceType": {"eq": "Signature"}}, ["alices", "first:u", "second", "first"]),
            ({"resourceId": {"eq": "first"}}, ["first:u", "first"]),
            ({"resourceId": {"in": ["second", "alices"]}}, ["alices", "second"]),
            (
                {
                    "and": [
                        {"resourceType": {"eq": "Signature"}},
                        {"not": {"action": {"eq": "signature.create"}}},
                    ]
                },
                ["first:u"],
            ),
            (
                {"or": [{"action": {"eq": "signature.update"}}, {"resourceId": {"eq": "second"}}]},
                ["first:u", "second"],
            ),
        ],
    )
    async def test_filters(self, history: History, filter: Node, expected: list[str]) -> None:
        names = {
            "first": history.first["id"],
            "second": history.second["id"],
            "alices": history.alices["id"],
        }

        found = await logs(history.team.admin, filter=resolved(filter, names), first=1000)

        described = [names_of(row, names) for row in found["nodes"]]
        assert described == expected
        assert found["totalCount"] == len(expected)

    async def test_filter_by_actor(self, history: History) -> None:
        team = history.team

        found = await logs(team.admin, filter={"actorId": {"eq": team.alice.id}}, first=1000)

        assert [row["action"] for row in found["nodes"]] == [
            "signature.create",
            "apiKey.create",
            "auth.signIn",
        ]
        assert {row["actor"]["id"] for row in found["nodes"]} == {team.alice.id}
        assert found["nodes"][0]["resourceId"] == history.alices["id"]
        created = await logs(
            team.admin,
            filter={"resourceId": {"eq": team.alice.id}, "action": {"eq": "user.create"}},
        )
        assert [row["actor"] for row in created["nodes"]] == [{"id": team.tenant.admin_id}]

    async def test_filter_by_time(self, history: History) -> None:
        admin = history.team.admin
        rows = await every_row(admin)
        middle = rows[len(rows) // 2]["createdAt"]
        moment = parse(middle)

        later = await every_row(admin, filter={"createdAt": {"gt": middle}})
        earlier = await every_row(admin, filter={"createdAt": {"lte": middle}})

        assert [row["id"] for row in later] == [
            row["id"] for row in rows if parse(row["createdAt"]) > moment
        ]
        assert [row["id"] for row in earlier] == [
            row["id"] for row in rows if parse(row["createdAt"]) <= moment
        ]
        assert later
        assert earlier

    async def test_another_organizations_rows_never_appear(self, history: History) -> None:
        team = history.team
        other_id = history.other_signature["id"]

        ours = await every_row(team.admin)
        by_id = await logs(team.admin, filter={"resourceId": {"eq": other_id}})
        theirs = await every_row(history.other_admin)

        assert other_id not in {row["resourceId"] for row in ours}
        assert by_id["totalCount"] == 0
        assert by_id["nodes"] == []
        assert {row["id"] for row in ours}.isdisjoint({row["id"] for row in theirs})
        actions = [row["action"] for row in theirs]
        assert actions[:2] == ["signature.update", "signature.create"]
        assert sorted(actions[2:]) == ["apiKey.create", "organization.create"]


def resolved(filter: Any, names: dict[str, str]) -> Any:
    """The filter with resource names replaced by their ids."""
    if isinstance(filter, dict):
        return {
            key: resolved(value, names) if key != "resourceId" else resolved_ids(value, names)
            for key, value in filter.items()
        }
    if isinstance(filter, list):
        return [resolved(item, names) for item in filter]
    return filter


def resolved_ids(operators: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {
        op: [names[v] for v in value] if isinstance(value, list) else names[value]
        for op, value in operators.items()
    }


def names_of(row: Node, names: dict[str, str]) -> str:
    """`first`, or `first:u` for its update: which of the history's rows this is."""
    name = next(name for name, id in names.items() if id == row["resourceId"])
    return f"{name}:u" if row["action"] == "signature.update" else name
