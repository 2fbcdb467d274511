"""Subscriptions that many sockets share (`graphql/shared_subscriptions.py`): one execution per
(document, variables, credential), each message sent to every socket that shares it."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI

from dspex_gql.graphql.shared_subscriptions import MAX_SHARED_DOCUMENT, SharedSubscriptions
from dspex_gql.pubsub import channels
from dspex_gql.runtime import Runtime
from tests.support.factories import create_program, execute
from tests.support.http_client import GraphQLClient
from tests.support.people import REVOKE_KEY, member
from tests.support.tenants import Tenant, new_tenant
from tests.support.websocket_client import Socket

SLOW = {"latency_ms": 60_000}
WATCH = "subscription($id: ID!) { executionUpdated(id: $id) { id status sequence } }"
WATCH_PROGRAM = "subscription($id: ID!) { programExecutions(programId: $id) { id status } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"


def shared(app: FastAPI) -> SharedSubscriptions:
    subscriptions: SharedSubscriptions = app.state.shared_subscriptions
    return subscriptions


def listeners(app: FastAPI, execution_id: str) -> int:
    """Local subscribers of the execution's channel: one per execution of the subscription."""
    runtime: Runtime = app.state.runtime
    return runtime.hub.subscriber_counts().get(channels.execution(uuid.UUID(execution_id)), 0)


async def settled(socket: Socket) -> None:
    """Everything the socket sent before has been handled (the service answers in order)."""
    await socket.send({"type": "ping"})
    while (await socket.receive())["type"] != "pong":
        pass


async def watched_then_stopped(socket: Socket, execution_id: str) -> None:
    """Subscribe, read the snapshot, stop, and wait until the service has handled the stop."""
    operation = await socket.start(WATCH, {"id": execution_id})
    await socket.next_payload(operation)
    await socket.send({"id": operation, "type": "complete"})
    await settled(socket)


async def slow_execution(client: GraphQLClient) -> str:
    program = await create_program(client, configuration=SLOW)
    execution_id: str = (await execute(client, program["id"]))["id"]
    return execution_id


def statuses(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["data"]["executionUpdated"]["status"] for p in payloads]


class TestOneExecutionForManySockets:
    async def test_every_socket_gets_the_snapshot_and_every_change_from_one_execution(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(Socket(app, tenant.admin_key)) for _ in range(5)
            ]
            operations = [await s.start(WATCH, {"id": execution}) for s in sockets]
            snapshots = [await s.next_payload(o) for s, o in zip(sockets, operations, strict=True)]
            assert listeners(app, execution) == 1
            assert len(shared(app)) == 1
            await client.data(CANCEL, id=execution)
            endings = [await s.results(o) for s, o in zip(sockets, operations, strict=True)]

        assert all(s["data"]["executionUpdated"]["id"] == execution for s in snapshots)
        assert all(statuses(payloads)[-1] == "CANCELLED" for payloads in endings)
        assert all(payloads[-1] == endings[0][-1] for payloads in endings)
        assert len(shared(app)) == 0, "a subscription that ended is forgotten"

    async def test_a_late_socket_starts_from_the_latest_message(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        async with Socket(app, tenant.admin_key) as first, Socket(app, tenant.admin_key) as late:
            watching = await first.start(WATCH, {"id": execution})
            latest = await first.payload_where(
                watching, lambda p: p["data"]["executionUpdated"]["status"] == "RUNNING"
            )
            joined = await late.start(WATCH, {"id": execution})
            assert await late.next_payload(joined) == latest
            await client.data(CANCEL, id=execution)
            first_rest, late_rest = await first.results(watching), await late.results(joined)

        assert statuses(first_rest)[-1] == statuses(late_rest)[-1] == "CANCELLED"

    async def test_it_runs_until_its_last_socket_leaves(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        async with (
            Socket(app, tenant.admin_key) as staying,
            Socket(app, tenant.admin_key) as leaving,
        ):
            kept = await staying.start(WATCH, {"id": execution})
            await staying.next_payload(kept)
            await watched_then_stopped(leaving, execution)
            assert len(shared(app)) == 1
            await client.data(CANCEL, id=execution)
            assert statuses(await staying.results(kept))[-1] == "CANCELLED"

        async with Socket(app, tenant.admin_key) as only:
            other = await slow_execution(client)
            await watched_then_stopped(only, other)
            assert len(shared(app)) == 0
            await client.data(CANCEL, id=other)

    async def test_a_socket_that_closes_leaves_the_others_running(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        async with Socket(app, tenant.admin_key) as staying:
            kept = await staying.start(WATCH, {"id": execution})
            await staying.next_payload(kept)
            async with Socket(app, tenant.admin_key) as closing:
                await closing.next_payload(await closing.start(WATCH, {"id": execution}))
            await client.data(CANCEL, id=execution)
            assert statuses(await staying.results(kept))[-1] == "CANCELLED"

    async def test_an_id_in_use_closes_the_socket_as_the_protocol_says(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        async with Socket(app, tenant.admin_key) as socket:
            await socket.next_payload(await socket.start(WATCH, {"id": execution}, operation="a"))
            await socket.start(WATCH, {"id": execution}, operation="a")
            # the running execution's changes may be on their way before the close
            closed = await socket.closed(after_messages=True)
            assert closed == (4409, "Subscriber for a already exists")
        await client.data(CANCEL, id=execution)


class TestWhoShares:
    async def test_each_credential_has_its_own_execution_and_a_revoked_one_ends_only_its_own(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        execution = await slow_execution(someone.client)
        async with Socket(app, tenant.admin_key) as admin, Socket(app, someone.key) as user:
            by_admin = await admin.start(WATCH, {"id": execution})
            by_user = await user.start(WATCH, {"id": execution})
            for socket, operation in ((admin, by_admin), (user, by_user)):
                snapshot = await socket.next_payload(operation)
                assert snapshot["data"]["executionUpdated"]["id"] == execution
            assert len(shared(app)) == 2
            await someone.client.data(REVOKE_KEY, id=someone.key_id)
            revoked = await user.results(by_user)
            await client.data(CANCEL, id=execution)
            kept = await admin.results(by_admin)

        assert revoked[-1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert statuses(kept)[-1] == "CANCELLED"

    async def test_another_tenant_cannot_see_what_a_shared_subscription_shows(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        stranger = await new_tenant(app)
        async with Socket(app, tenant.admin_key) as owner, Socket(app, stranger.admin_key) as other:
            watching = await owner.start(WATCH, {"id": execution})
            await owner.next_payload(watching)
            refused = await other.run(WATCH, {"id": execution})
            await client.data(CANCEL, id=execution)
            kept = await owner.results(watching)

        assert refused[0]["data"] is None
        assert refused[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert statuses(kept)[-1] == "CANCELLED"

    async def test_an_invalid_document_is_refused_to_every_socket_that_sent_it(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        document = "subscription($id: ID!) { executionUpdated(id: $id) { nope } }"
        async with Socket(app, tenant.admin_key) as one, Socket(app, tenant.admin_key) as two:
            first, second = await asyncio.gather(
                one.run(document, {"id": "x"}), two.run(document, {"id": "x"})
            )

        for refused in (first, second):
            assert "Cannot query field 'nope'" in refused[-1]["errors"][0]["message"]
        assert len(shared(app)) == 0

    async def test_a_long_document_runs_on_its_own(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        execution = await slow_execution(client)
        document = WATCH + "\n# " + "x" * MAX_SHARED_DOCUMENT
        async with Socket(app, tenant.admin_key) as socket:
            watching = await socket.start(document, {"id": execution})
            snapshot = await socket.next_payload(watching)
            assert len(shared(app)) == 0
            await client.data(CANCEL, id=execution)
            rest = await socket.results(watching)

        assert snapshot["data"]["executionUpdated"]["id"] == execution
        assert statuses(rest)[-1] == "CANCELLED"

    async def test_subscriptions_of_changes_are_not_shared(
        self, app: FastAPI, tenant: Tenant, client: GraphQLClient
    ) -> None:
        program = await create_program(client, configuration=SLOW)
        async with Socket(app, tenant.admin_key) as one, Socket(app, tenant.admin_key) as two:
            watching = [await s.start(WATCH_PROGRAM, {"id": program["id"]}) for s in (one, two)]
            execution = (await execute(client, program["id"]))["id"]
            firsts = [await s.next_payload(o) for s, o in zip((one, two), watching, strict=True)]
            assert len(shared(app)) == 0
            await client.data(CANCEL, id=execution)

        assert all(p["data"]["programExecutions"]["id"] == execution for p in firsts)
