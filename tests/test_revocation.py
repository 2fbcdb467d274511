"""An open subscription ends, saying why, once the credential it runs on stops working: its API
key revoked or expired, its user deactivated, its token ended by a password change. Before, it
went on delivering events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient
from tests.support.people import (
    CHANGE_PASSWORD,
    CREATE_KEY,
    CREATE_KEY_EXPIRING,
    DEACTIVATE,
    NEW_PASSWORD,
    PASSWORD,
    REVOKE_KEY,
    Member,
    member,
)
from tests.support.websocket_client import Socket

EXECUTION_UPDATED = "subscription($id: ID!) { executionUpdated(id: $id) { id status } }"
CANCEL = """mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"""
SLOW = {"latency_ms": 60_000}


async def watched_while(
    app: FastAPI, credential: str, execution_id: str, change: Any
) -> list[dict[str, Any]]:
    """The messages of a subscription to the execution, with `change()` made once it is open."""
    opened = asyncio.Event()

    def note(message: dict[str, Any]) -> bool:
        opened.set()
        return False

    async with Socket(app, credential) as socket:
        watching = asyncio.create_task(
            socket.subscribe(EXECUTION_UPDATED, {"id": execution_id}, until=note)
        )
        await opened.wait()
        await change()
        return await watching


def ended_with(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The error a subscription ended with (it must have ended with one, then completed)."""
    *_, last, complete = messages
    assert complete["type"] == "complete", messages
    [error] = last["payload"]["errors"]
    assert last["payload"]["data"] is None
    assert set(error["extensions"]) == {"code", "requestId"}
    return {"message": error["message"], "code": error["extensions"]["code"]}


async def slow_execution_of(someone: Member) -> str:
    program = await create_program(someone.client, configuration=SLOW)
    execution_id: str = (await execute(someone.client, program["id"]))["id"]
    return execution_id


class TestAnOpenSubscriptionEnds:
    async def test_when_its_api_key_is_revoked(self, app: FastAPI, client: GraphQLClient) -> None:
        someone = await member(client)
        execution = await slow_execution_of(someone)

        async def revoke() -> None:
            await someone.client.data(REVOKE_KEY, id=someone.key_id)

        messages = await watched_while(app, someone.key, execution, revoke)

        assert ended_with(messages) == {
            "message": "The API key was revoked",
            "code": "UNAUTHENTICATED",
        }

    async def test_when_its_user_is_deactivated(self, app: FastAPI, client: GraphQLClient) -> None:
        someone = await member(client)
        execution = await slow_execution_of(someone)

        async def deactivate() -> None:
            await client.data(DEACTIVATE, id=someone.id)

        messages = await watched_while(app, someone.key, execution, deactivate)

        assert ended_with(messages) == {
            "message": "The user was deactivated",
            "code": "UNAUTHENTICATED",
        }

    async def test_when_a_password_change_ends_its_token(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        execution = await slow_execution_of(someone)

        async def change_password() -> None:
            as_token = client.acting_as(someone.token)
            await as_token.data(CHANGE_PASSWORD, current=PASSWORD, new=NEW_PASSWORD)

        messages = await watched_while(app, someone.token, execution, change_password)

        assert ended_with(messages) == {
            "message": "The password changed: sign in again",
            "code": "UNAUTHENTICATED",
        }

    async def test_when_its_api_key_expires(self, app: FastAPI, client: GraphQLClient) -> None:
        someone = await member(client)
        execution = await slow_execution_of(someone)
        expires_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        created = await someone.client.data(CREATE_KEY_EXPIRING, name="brief", expiresAt=expires_at)
        brief = created["createApiKey"]["secret"]

        async def nothing() -> None:
            return None

        messages = await watched_while(app, brief, execution, nothing)

        assert ended_with(messages) == {"message": "The API key expired", "code": "UNAUTHENTICATED"}


class TestAnOpenSubscriptionGoesOn:
    async def test_when_another_key_of_its_user_is_revoked(
        self, app: FastAPI, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        execution = await slow_execution_of(someone)
        other = (await someone.client.data(CREATE_KEY, name="other"))["createApiKey"]

        async def revoke_the_other_then_cancel() -> None:
            await someone.client.data(REVOKE_KEY, id=other["apiKey"]["id"])
            await someone.client.data(CANCEL, id=execution)

        messages = await watched_while(app, someone.key, execution, revoke_the_other_then_cancel)

        statuses = [m["payload"]["data"]["executionUpdated"]["status"] for m in messages[:-1]]
        assert statuses[-1] == "CANCELLED"
        assert messages[-1]["type"] == "complete"
