"""Roles and visibility: who reads, creates, changes and executes what.

ADMIN does anything in its organization. USER creates; reads its own and ORGANIZATION-visible
resources; changes only its own. VIEWER only reads. A resource one may not read looks missing
(null, absent from lists, NotFoundError); one that may be read but not changed is ForbiddenError.

Alice and Bob are USERs, Vera a VIEWER, all in the admin's organization. Classes whose tests only
read share one organization (`team`) and make their data once; the others share the people and
make fresh resources in each test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from dspex_gql.app import create_app
from tests.support.app import make_settings
from tests.support.factories import create_program, create_signature, execute, get_execution, unique
from tests.support.http_client import GraphQLClient
from tests.support.people import Member, member
from tests.support.tenants import new_tenant

Node = dict[str, Any]

SLOW = {"latency_ms": 60_000}  # executions of such a program stay PENDING or RUNNING
PRIVATE, ORGANIZATION = "PRIVATE", "ORGANIZATION"


@dataclass(frozen=True)
class Team:
    admin: GraphQLClient
    admin_id: str
    alice: Member
    bob: Member
    vera: Member

    def client(self, who: str) -> GraphQLClient:
        return self.admin if who == "admin" else self.person(who).client

    def person(self, who: str) -> Member:
        person: Member = getattr(self, who)
        return person


@pytest.fixture(scope="class")
async def team(database_url: str) -> AsyncIterator[Team]:
    """An organization of its own with its admin, two users and a viewer, for a whole class."""
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        tenant = await new_tenant(application)
        async with GraphQLClient.for_app(application, tenant.admin_key) as admin:
            yield Team(
                admin=admin,
                admin_id=tenant.admin_id,
                alice=await member(admin, "USER", "Alice"),
                bob=await member(admin, "USER", "Bob"),
                vera=await member(admin, "VIEWER", "Vera"),
            )


def on(signature: Node) -> dict[str, Any]:
    """`create_program` arguments binding the program to an existing signature."""
    return {"signatureId": signature["id"], "signatureSpec": None}


def ids(nodes: list[Node]) -> set[str]:
    return {node["id"] for node in nodes}


SIGNATURE_SNAPSHOT = """query($id: ID!) { signature(id: $id) {
  id name description spec instructions version status visibility createdAt updatedAt
  owner { id } programCount } }"""
PROGRAM_SNAPSHOT = """query($id: ID!) { program(id: $id) {
  id name description type adapter status errorMessage configuration version performanceMetrics
  tags visibility createdAt updatedAt signature { id } owner { id } parent { id } } }"""
EXECUTION_SNAPSHOT = """query($id: ID!) { execution(id: $id) {
  id status sequence error completedAt program { id } triggeredBy { id } } }"""


async def snapshot(client: GraphQLClient, kind: str, id: str) -> Node | None:
    """Everything a client sees of one resource (None: it does not see it)."""
    query = {
        "signature": SIGNATURE_SNAPSHOT,
        "program": PROGRAM_SNAPSHOT,
        "execution": EXECUTION_SNAPSHOT,
    }[kind]
    found: Node | None = (await client.data(query, id=id))[kind]
    return found


def mutation(name: str, type: str, extra: str = "") -> str:
    """A mutation on one resource by id, selecting what a client needs to tell results apart."""
    arguments = f"id: $id, {extra}" if extra else "id: $id"
    return (
        f"mutation($id: ID!) {{ {name}({arguments}) {{ __typename"
        f" ... on {type} {{ id status }}"
        " ... on Error { message code } ... on NotFoundError { id } } }"
    )


async def mutate(client: GraphQLClient, name: str, type: str, id: str, extra: str = "") -> Node:
    result: Node = (await client.data(mutation(name, type, extra), id=id))[name]
    return result


async def ready_program(owner: GraphQLClient, visibility: str, **fields: Any) -> Node:
    signature = await create_signature(owner, visibility=visibility)
    return await create_program(owner, visibility=visibility, **on(signature), **fields)


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What Alice and Bob made, and what each reader should see of it."""

    private_signature: Node
    """Alice's PRIVATE signature, which her ORGANIZATION-visible program uses."""
    shared_signature: Node
    """Alice's ORGANIZATION-visible signature, used by one private and one shared program."""
    private_program: Node
    shared_program: Node
    """ORGANIZATION-visible, on Alice's PRIVATE signature."""
    shared_program_on_shared: Node
    private_execution: Node
    shared_execution: Node
    bobs_execution_of_shared: Node
    """Bob ran Alice's shared program: readable by whoever reads the program."""
    bobs_signature: Node
    bobs_program: Node
    bobs_execution: Node
    admins_signature: Node
    admins_program: Node
    admins_execution: Node

    def visible(self, who: str, kind: str) -> set[str]:
        alices = {
            "signatures": [self.private_signature, self.shared_signature],
            "programs": [self.private_program, self.shared_program, self.shared_program_on_shared],
            "executions": [
                self.private_execution,
                self.shared_execution,
                self.bobs_execution_of_shared,
            ],
        }
        bobs = {
            "signatures": [self.bobs_signature],
            "programs": [self.bobs_program],
            "executions": [self.bobs_execution],
        }
        admins = {
            "signatures": [self.admins_signature],
            "programs": [self.admins_program],
            "executions": [self.admins_execution],
        }
        shared = {
            "signatures": [self.shared_signature],
            "programs": [self.shared_program, self.shared_program_on_shared],
            "executions": [self.shared_execution, self.bobs_execution_of_shared],
        }
        seen = {
            "admin": alices[kind] + bobs[kind] + admins[kind],
            "alice": alices[kind],
            "bob": shared[kind] + bobs[kind],
            "vera": shared[kind],
        }[who]
        return ids(seen)

    def all(self, kind: str) -> set[str]:
        return self.visible("admin", kind)


@pytest.fixture(scope="class")
async def world(team: Team) -> World:
    alice, bob, admin = team.alice.client, team.bob.client, team.admin
    private_signature = await create_signature(alice)
    shared_signature = await create_signature(alice, visibility=ORGANIZATION)
    private_program = await create_program(alice, **on(shared_signature))
    shared_program = await create_program(alice, visibility=ORGANIZATION, **on(private_signature))
    shared_on_shared = await create_program(alice, visibility=ORGANIZATION, **on(shared_signature))
    bobs_signature = await create_signature(bob)
    bobs_program = await create_program(bob, **on(bobs_signature))
    admins_signature = await create_signature(admin)
    admins_program = await create_program(admin, **on(admins_signature))
    world = World(
        private_signature=private_signature,
        shared_signature=shared_signature,
        private_program=private_program,
        shared_program=shared_program,
        shared_program_on_shared=shared_on_shared,
        private_execution=await execute(alice, private_program["id"], wait=True),
        shared_execution=await execute(alice, shared_program["id"], wait=True),
        bobs_execution_of_shared=await execute(bob, shared_program["id"], wait=True),
        bobs_signature=bobs_signature,
        bobs_program=bobs_program,
        bobs_execution=await execute(bob, bobs_program["id"], wait=True),
        admins_signature=admins_signature,
        admins_program=admins_program,
        admins_execution=await execute(admin, admins_program["id"], wait=True),
    )
    executions = [
        world.private_execution,
        world.shared_execution,
        world.bobs_execution_of_shared,
        world.bobs_execution,
        world.admins_execution,
    ]
    assert {execution["status"] for execution in executions} == {"COMPLETED"}
    return world


READERS = ["admin", "alice", "bob", "vera"]
KINDS = {"signatures": "signature", "programs": "program", "executions": "execution"}


def listing(field: str, type: str) -> str:
    return (
        f"query($filter: {type}Filter) {{ {field}(filter: $filter) {{"
        " totalCount nodes { id } edges { node { id } } } }"
    )


async def listed(client: GraphQLClient, kind: str, filter: Node | None = None) -> set[str]:
    """The ids of a list, checking that totalCount, nodes and edges agree."""
    type = KINDS[kind].title()
    connection = (await client.data(listing(kind, type), filter=filter))[kind]
    found = ids(connection["nodes"])
    assert [edge["node"] for edge in connection["edges"]] == connection["nodes"]
    assert connection["totalCount"] == len(connection["nodes"]) == len(found)
    return found


class TestReading:
    @pytest.mark.parametrize("who", READERS)
    @pytest.mark.parametrize("kind", list(KINDS))
    async def test_gets_return_exactly_what_the_reader_may_read(
        self, team: Team, world: World, who: str, kind: str
    ) -> None:
        client = team.client(who)

        seen = {id for id in world.all(kind) if await snapshot(client, KINDS[kind], id)}

        assert seen == world.visible(who, kind)

    @pytest.mark.parametrize("kind", list(KINDS))
    async def test_members_reading_by_id_in_turn_each_see_their_own(
        self, team: Team, world: World, kind: str
    ) -> None:
        """Members of one role share one statement per read by id, their id a parameter of it:
        reads taken in turn must not see through each other."""
        readers = ["alice", "bob", "vera", "alice", "bob", "vera"]

        seen = {who: set[str]() for who in readers}
        for id in world.all(kind):
            for who in readers:
                if await snapshot(team.client(who), KINDS[kind], id):
                    seen[who].add(id)

        assert seen == {who: world.visible(who, kind) for who in readers}

    @pytest.mark.parametrize("who", READERS)
    @pytest.mark.parametrize("kind", list(KINDS))
    async def test_lists_and_their_counts_hold_only_what_the_reader_may_read(
        self, team: Team, world: World, who: str, kind: str
    ) -> None:
        found = await listed(team.client(who), kind)

        assert found == world.visible(who, kind)

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_a_private_signature_looks_missing(
        self, team: Team, world: World, who: str
    ) -> None:
        client = team.client(who)
        name = world.private_signature["name"]

        got = await snapshot(client, "signature", world.private_signature["id"])
        by_name = await listed(client, "signatures", {"name": {"eq": name}})

        assert got is None
        assert by_name == set()

    @pytest.mark.parametrize("who", ["admin", "bob"])
    async def test_signatures_filter_by_visibility(
        self, team: Team, world: World, who: str
    ) -> None:
        client = team.client(who)

        private_ones = await listed(client, "signatures", {"visibility": {"eq": PRIVATE}})
        shared_ones = await listed(client, "signatures", {"visibility": {"eq": ORGANIZATION}})

        visible = world.visible(who, "signatures")
        assert shared_ones == {world.shared_signature["id"]}
        assert private_ones == visible - shared_ones

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_filtering_by_a_private_id_finds_nothing(
        self, team: Team, world: World, who: str
    ) -> None:
        client = team.client(who)

        programs = await listed(
            client, "programs", {"signatureId": {"eq": world.shared_signature["id"]}}
        )
        executions = await listed(
            client, "executions", {"programId": {"eq": world.private_program["id"]}}
        )
        by_name = await listed(client, "programs", {"name": {"eq": world.private_program["name"]}})

        assert programs == {world.shared_program_on_shared["id"]}
        assert executions == set()
        assert by_name == set()

    @pytest.mark.parametrize(
        ("who", "visible"),
        [("admin", 2), ("alice", 2), ("bob", 1), ("vera", 1)],
    )
    async def test_a_signature_lists_and_counts_only_programs_the_reader_sees(
        self, team: Team, world: World, who: str, visible: int
    ) -> None:
        data = await team.client(who).data(
            """query($id: ID!) { signature(id: $id) {
              programCount programs { totalCount nodes { id } } } }""",
            id=world.shared_signature["id"],
        )

        signature = data["signature"]
        expected = {world.shared_program_on_shared["id"]}
        if visible == 2:
            expected.add(world.private_program["id"])
        assert ids(signature["programs"]["nodes"]) == expected
        assert signature["programs"]["totalCount"] == signature["programCount"] == visible

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_a_visible_program_shows_its_private_signature(
        self, team: Team, world: World, who: str
    ) -> None:
        client = team.client(who)

        data = await client.data(
            """query($id: ID!) { program(id: $id) { id
              signature { id name spec visibility owner { id } } } }""",
            id=world.shared_program["id"],
        )

        signature = data["program"]["signature"]
        assert signature["id"] == world.private_signature["id"]
        assert signature["spec"] == world.private_signature["spec"]
        assert signature["visibility"] == PRIVATE
        assert signature["owner"] == {"id": team.alice.id}
        assert await snapshot(client, "signature", world.private_signature["id"]) is None

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_a_visible_program_shows_every_execution_of_it(
        self, team: Team, world: World, who: str
    ) -> None:
        data = await team.client(who).data(
            """query($id: ID!) { program(id: $id) { executions { totalCount nodes { id
              triggeredBy { id } } } } }""",
            id=world.shared_program["id"],
        )

        executions = data["program"]["executions"]
        assert ids(executions["nodes"]) == ids(
            [world.shared_execution, world.bobs_execution_of_shared]
        )
        assert executions["totalCount"] == 2
        triggered = {node["triggeredBy"]["id"] for node in executions["nodes"]}
        assert triggered == {team.alice.id, team.bob.id}

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_a_shared_programs_executions_are_readable_with_their_program(
        self, team: Team, world: World, who: str
    ) -> None:
        execution = await get_execution(team.client(who), world.shared_execution["id"])

        assert execution["program"] == {"id": world.shared_program["id"]}
        assert execution["status"] == "COMPLETED"


# --- creates ------------------------------------------------------------------------------


CREATE_SIGNATURE = """mutation($input: CreateSignatureInput!) { createSignature(input: $input) {
  __typename ... on Signature { id owner { id } visibility } ... on Error { message code } } }"""
CREATE_PROGRAM = """mutation($input: CreateProgramInput!) { createProgram(input: $input) {
  __typename ... on Program { id status visibility owner { id }
    signature { id name version spec visibility owner { id } } }
  ... on Error { message code } ... on NotFoundError { id } } }"""
CLONE_PROGRAM = """mutation($id: ID!, $name: String!) { cloneProgram(id: $id, name: $name) {
  __typename ... on Program { id status visibility owner { id } parent { id } signature { id } }
  ... on Error { message code } ... on NotFoundError { id } } }"""
EXECUTE_PROGRAM = """mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id status program { id } triggeredBy { id } }
  ... on Error { message code } ... on NotFoundError { id } } }"""


async def total(client: GraphQLClient, kind: str) -> int:
    """How many of `kind` the client sees (archived programs aside)."""
    count: int = (await client.data(f"{{ {kind} {{ totalCount }} }}"))[kind]["totalCount"]
    return count


async def counts(admin: GraphQLClient) -> dict[str, int]:
    return {kind: await total(admin, kind) for kind in KINDS}


class TestCreating:
    @pytest.mark.parametrize("operation", ["createSignature", "createProgram", "cloneProgram"])
    async def test_viewers_cannot_create(self, team: Team, operation: str) -> None:
        source = await ready_program(team.alice.client, ORGANIZATION)
        signature = await create_signature(team.alice.client, visibility=ORGANIZATION)
        before = await counts(team.admin)
        vera = team.vera.client

        if operation == "createSignature":
            result = (
                await vera.data(CREATE_SIGNATURE, input={"name": unique("s"), "spec": "a -> b"})
            )["createSignature"]
        elif operation == "createProgram":
            result = (
                await vera.data(
                    CREATE_PROGRAM, input={"name": unique("p"), "signatureId": signature["id"]}
                )
            )["createProgram"]
        else:
            result = (await vera.data(CLONE_PROGRAM, id=source["id"], name=unique("c")))[
                "cloneProgram"
            ]

        assert result["__typename"] == "ForbiddenError"
        assert result["code"] == "FORBIDDEN"
        assert "Viewers cannot create" in result["message"]
        assert await counts(team.admin) == before

    async def test_viewers_cannot_execute(self, team: Team) -> None:
        program = await ready_program(team.alice.client, ORGANIZATION)
        before = await counts(team.admin)

        result = (
            await team.vera.client.data(
                EXECUTE_PROGRAM, input={"programId": program["id"], "inputs": {"question": "q"}}
            )
        )["executeProgram"]

        assert result["__typename"] == "ForbiddenError"
        assert await counts(team.admin) == before

    async def test_viewers_manage_their_own_password_and_api_keys(self, team: Team) -> None:
        viewer = await member(team.admin, "VIEWER")

        created = (
            await viewer.client.data(
                """mutation { createApiKey(name: "mine") { __typename
                  ... on NewApiKey { apiKey { id } } } }"""
            )
        )["createApiKey"]
        revoked = (
            await viewer.client.data(
                """mutation($id: ID!) { revokeApiKey(id: $id) { __typename
                  ... on ApiKey { revokedAt } } }""",
                id=created["apiKey"]["id"],
            )
        )["revokeApiKey"]
        changed = (
            await viewer.client.data(
                """mutation { changePassword(currentPassword: "correct horse battery staple",
                  newPassword: "another long enough passphrase") { __typename } }"""
            )
        )["changePassword"]

        assert created["__typename"] == "NewApiKey"
        assert revoked["__typename"] == "ApiKey"
        assert revoked["revokedAt"] is not None
        assert changed["__typename"] == "AuthPayload"

    async def test_users_create_signatures_programs_executions_and_clones(self, team: Team) -> None:
        bob = team.bob.client

        signature = (
            await bob.data(CREATE_SIGNATURE, input={"name": unique("s"), "spec": "q -> a"})
        )["createSignature"]
        program = (
            await bob.data(
                CREATE_PROGRAM,
                input={"name": unique("p"), "signatureId": signature["id"], "initialize": True},
            )
        )["createProgram"]
        execution = (
            await bob.data(
                EXECUTE_PROGRAM, input={"programId": program["id"], "inputs": {"q": "x"}}
            )
        )["executeProgram"]
        clone = (await bob.data(CLONE_PROGRAM, id=program["id"], name=unique("c")))["cloneProgram"]

        assert (signature["__typename"], signature["owner"]) == ("Signature", {"id": team.bob.id})
        assert signature["visibility"] == PRIVATE
        assert (program["__typename"], program["status"]) == ("Program", "READY")
        assert program["owner"] == {"id": team.bob.id}
        assert execution["__typename"] == "Execution"
        assert execution["triggeredBy"] == {"id": team.bob.id}
        assert (clone["__typename"], clone["parent"]) == ("Program", {"id": program["id"]})

    async def test_users_execute_someone_elses_shared_program(self, team: Team) -> None:
        program = await ready_program(team.alice.client, ORGANIZATION)

        result = (
            await team.bob.client.data(
                EXECUTE_PROGRAM,
                input={"programId": program["id"], "inputs": {"question": "q"}, "wait": True},
            )
        )["executeProgram"]

        assert result["__typename"] == "Execution"
        assert result["status"] == "COMPLETED"
        assert result["program"] == {"id": program["id"]}
        assert result["triggeredBy"] == {"id": team.bob.id}
        as_alice = await get_execution(team.alice.client, result["id"])
        assert as_alice["triggeredBy"] == {"id": team.bob.id}

    async def test_users_clone_someone_elses_shared_program_as_their_own(self, team: Team) -> None:
        source = await ready_program(team.alice.client, ORGANIZATION)

        clone = (await team.bob.client.data(CLONE_PROGRAM, id=source["id"], name=unique("c")))[
            "cloneProgram"
        ]

        assert clone["__typename"] == "Program"
        assert clone["owner"] == {"id": team.bob.id}
        assert clone["parent"] == {"id": source["id"]}
        assert clone["signature"] == {"id": source["signature"]["id"]}
        assert (clone["status"], clone["visibility"]) == ("DRAFT", ORGANIZATION)
        assert (await snapshot(team.alice.client, "program", clone["id"])) is not None

    @pytest.mark.parametrize("who", ["bob", "vera"])
    async def test_nobody_but_admins_executes_or_clones_a_private_program_of_another(
        self, team: Team, who: str
    ) -> None:
        program = await ready_program(team.alice.client, PRIVATE)
        client = team.client(who)
        before = await counts(team.admin)

        executed = (
            await client.data(
                EXECUTE_PROGRAM, input={"programId": program["id"], "inputs": {"question": "q"}}
            )
        )["executeProgram"]
        cloned = (await client.data(CLONE_PROGRAM, id=program["id"], name=unique("c")))[
            "cloneProgram"
        ]

        expected = "NotFoundError" if who == "bob" else "ForbiddenError"
        assert executed["__typename"] == expected
        assert cloned["__typename"] == expected
        if who == "bob":
            assert executed["id"] == cloned["id"] == program["id"]
        assert await counts(team.admin) == before

    async def test_admins_execute_and_clone_private_programs_of_anyone(self, team: Team) -> None:
        program = await ready_program(team.alice.client, PRIVATE)

        executed = (
            await team.admin.data(
                EXECUTE_PROGRAM, input={"programId": program["id"], "inputs": {"question": "q"}}
            )
        )["executeProgram"]
        cloned = (await team.admin.data(CLONE_PROGRAM, id=program["id"], name=unique("c")))[
            "cloneProgram"
        ]

        assert executed["__typename"] == "Execution"
        assert cloned["__typename"] == "Program"
        assert cloned["owner"] == {"id": team.admin_id}


# --- changes -------------------------------------------------------------------------------


SIGNATURE_CHANGES = {
    "updateSignature": 'input: {description: "changed"}',
    "activateSignature": "",
    "deprecateSignature": "",
    "deleteSignature": "",
}
PROGRAM_CHANGES = {
    "updateProgram": 'input: {name: "changed", tags: ["changed"]}',
    "initializeProgram": "",
    "archiveProgram": "",
    "updateProgramMetrics": "metrics: {accuracy: 0.5}",
}

REFUSED = [
    ("bob", ORGANIZATION, "ForbiddenError"),
    ("bob", PRIVATE, "NotFoundError"),
    ("vera", ORGANIZATION, "ForbiddenError"),
    ("vera", PRIVATE, "NotFoundError"),
]
ALLOWED = [
    ("alice", PRIVATE),
    ("alice", ORGANIZATION),
    ("admin", PRIVATE),
    ("admin", ORGANIZATION),
]


async def alices_signature(team: Team, visibility: str, operation: str) -> Node:
    """A signature of Alice's in the state `operation` expects."""
    signature = await create_signature(team.alice.client, visibility=visibility)
    if operation == "deprecateSignature":
        activated = await mutate(
            team.alice.client, "activateSignature", "Signature", signature["id"]
        )
        assert activated["status"] == "ACTIVE"
    return signature


class TestChangingSignatures:
    @pytest.mark.parametrize(("who", "visibility", "refusal"), REFUSED)
    @pytest.mark.parametrize("operation", list(SIGNATURE_CHANGES))
    async def test_others_are_refused_and_nothing_changes(
        self, team: Team, operation: str, who: str, visibility: str, refusal: str
    ) -> None:
        signature = await alices_signature(team, visibility, operation)
        before = await snapshot(team.alice.client, "signature", signature["id"])

        result = await mutate(
            team.client(who), operation, "Signature", signature["id"], SIGNATURE_CHANGES[operation]
        )

        assert result["__typename"] == refusal
        if refusal == "NotFoundError":
            assert result["id"] == signature["id"]
            assert result["code"] == "NOT_FOUND"
        else:
            assert result["code"] == "FORBIDDEN"
        assert await snapshot(team.alice.client, "signature", signature["id"]) == before

    @pytest.mark.parametrize(("who", "visibility"), ALLOWED)
    @pytest.mark.parametrize("operation", list(SIGNATURE_CHANGES))
    async def test_the_owner_and_admins_change_it(
        self, team: Team, operation: str, who: str, visibility: str
    ) -> None:
        signature = await alices_signature(team, visibility, operation)

        result = await mutate(
            team.client(who), operation, "Signature", signature["id"], SIGNATURE_CHANGES[operation]
        )

        assert result["__typename"] == "Signature", result
        after = await snapshot(team.alice.client, "signature", signature["id"])
        if operation == "deleteSignature":
            assert after is None
            return
        assert after is not None
        expected = {
            "updateSignature": ("description", "changed"),
            "activateSignature": ("status", "ACTIVE"),
            "deprecateSignature": ("status", "DEPRECATED"),
        }[operation]
        assert after[expected[0]] == expected[1]
        assert after["owner"] == {"id": team.alice.id}

    async def test_a_user_cannot_make_someone_elses_signature_private_to_hide_it(
        self, team: Team
    ) -> None:
        signature = await create_signature(team.alice.client, visibility=ORGANIZATION)

        result = await mutate(
            team.bob.client,
            "updateSignature",
            "Signature",
            signature["id"],
            "input: {visibility: PRIVATE}",
        )

        assert result["__typename"] == "ForbiddenError"
        assert await snapshot(team.vera.client, "signature", signature["id"]) is not None


async def alices_program(team: Team, visibility: str) -> Node:
    signature = await create_signature(team.alice.client, visibility=visibility)
    return await create_program(team.alice.client, visibility=visibility, **on(signature))


class TestChangingPrograms:
    @pytest.mark.parametrize(("who", "visibility", "refusal"), REFUSED)
    @pytest.mark.parametrize("operation", list(PROGRAM_CHANGES))
    async def test_others_are_refused_and_nothing_changes(
        self, team: Team, operation: str, who: str, visibility: str, refusal: str
    ) -> None:
        program = await alices_program(team, visibility)
        before = await snapshot(team.alice.client, "program", program["id"])

        result = await mutate(
            team.client(who), operation, "Program", program["id"], PROGRAM_CHANGES[operation]
        )

        assert result["__typename"] == refusal
        if refusal == "NotFoundError":
            assert result["id"] == program["id"]
        assert await snapshot(team.alice.client, "program", program["id"]) == before

    @pytest.mark.parametrize(("who", "visibility"), ALLOWED)
    @pytest.mark.parametrize("operation", list(PROGRAM_CHANGES))
    async def test_the_owner_and_admins_change_it(
        self, team: Team, operation: str, who: str, visibility: str
    ) -> None:
        program = await alices_program(team, visibility)

        result = await mutate(
            team.client(who), operation, "Program", program["id"], PROGRAM_CHANGES[operation]
        )

        assert result["__typename"] == "Program", result
        after = await snapshot(team.alice.client, "program", program["id"])
        assert after is not None
        expected = {
            "updateProgram": ("tags", ["changed"]),
            "initializeProgram": ("status", "READY"),
            "archiveProgram": ("status", "ARCHIVED"),
            "updateProgramMetrics": ("performanceMetrics", {"accuracy": 0.5}),
        }[operation]
        assert after[expected[0]] == expected[1]
        assert after["owner"] == {"id": team.alice.id}


class TestCancelling:
    CANCEL = mutation("cancelExecution", "Execution")

    async def slow_execution(self, team: Team, by: str, visibility: str = ORGANIZATION) -> Node:
        program = await ready_program(team.alice.client, visibility, configuration=SLOW)
        execution = await execute(team.client(by), program["id"])
        assert execution["status"] in ("PENDING", "RUNNING"), execution
        return execution

    @pytest.mark.parametrize(
        ("triggered_by", "who"),
        [("alice", "bob"), ("alice", "vera"), ("bob", "alice")],
        ids=["another-user", "a-viewer", "the-programs-owner"],
    )
    async def test_only_who_triggered_it_or_an_admin_cancels(
        self, team: Team, triggered_by: str, who: str
    ) -> None:
        execution = await self.slow_execution(team, by=triggered_by)

        result = (await team.client(who).data(self.CANCEL, id=execution["id"]))["cancelExecution"]

        assert result["__typename"] == "ForbiddenError"
        after = await snapshot(team.client(triggered_by), "execution", execution["id"])
        assert after is not None
        assert after["status"] in ("PENDING", "RUNNING")
        assert after["error"] is None

    @pytest.mark.parametrize(
        ("triggered_by", "who"), [("alice", "alice"), ("bob", "bob"), ("alice", "admin")]
    )
    async def test_who_triggered_it_and_admins_cancel(
        self, team: Team, triggered_by: str, who: str
    ) -> None:
        execution = await self.slow_execution(team, by=triggered_by)

        result = (await team.client(who).data(self.CANCEL, id=execution["id"]))["cancelExecution"]

        assert (result["__typename"], result["status"]) == ("Execution", "CANCELLED")
        after = await snapshot(team.client(triggered_by), "execution", execution["id"])
        assert after is not None
        assert after["status"] == "CANCELLED"

    async def test_an_execution_of_a_private_program_of_another_looks_missing(
        self, team: Team
    ) -> None:
        execution = await self.slow_execution(team, by="alice", visibility=PRIVATE)

        result = (await team.bob.client.data(self.CANCEL, id=execution["id"]))["cancelExecution"]

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == execution["id"]
        after = await snapshot(team.alice.client, "execution", execution["id"])
        assert after is not None
        assert after["status"] in ("PENDING", "RUNNING")


# --- binding a program to a signature ------------------------------------------------------


def fresh_spec() -> str:
    """A spec nobody else in the organization uses."""
    tag = uuid.uuid4().hex[:8]
    return f"question_{tag}: str -> answer_{tag}: str"


class TestBinding:
    async def test_a_private_signature_of_another_cannot_be_bound_by_id(self, team: Team) -> None:
        signature = await create_signature(team.alice.client)
        before = await counts(team.admin)

        result = (
            await team.bob.client.data(
                CREATE_PROGRAM, input={"name": unique("p"), "signatureId": signature["id"]}
            )
        )["createProgram"]

        assert result["__typename"] == "NotFoundError"
        assert result["id"] == signature["id"]
        assert await counts(team.admin) == before

    async def test_a_program_cannot_be_moved_onto_a_private_signature_of_another(
        self, team: Team
    ) -> None:
        signature = await create_signature(team.alice.client)
        program = await create_program(team.bob.client, ready=False)
        before = await snapshot(team.bob.client, "program", program["id"])

        result = (
            await team.bob.client.data(
                """mutation($id: ID!, $signatureId: ID!) {
                  updateProgram(id: $id, input: {signatureId: $signatureId}) {
                  __typename ... on NotFoundError { id } } }""",
                id=program["id"],
                signatureId=signature["id"],
            )
        )["updateProgram"]

        assert result == {"__typename": "NotFoundError", "id": signature["id"]}
        assert await snapshot(team.bob.client, "program", program["id"]) == before

    @pytest.mark.parametrize("visibility", [PRIVATE, ORGANIZATION])
    async def test_a_spec_matching_only_a_private_signature_of_another_makes_a_new_one(
        self, team: Team, visibility: str
    ) -> None:
        spec = fresh_spec()
        alices = await create_signature(team.alice.client, spec=spec)

        result = (
            await team.bob.client.data(
                CREATE_PROGRAM,
                input={"name": unique("p"), "signatureSpec": spec, "visibility": visibility},
            )
        )["createProgram"]

        assert result["__typename"] == "Program", result
        signature = result["signature"]
        assert signature["id"] != alices["id"]
        assert signature["spec"] == alices["spec"]
        assert signature["owner"] == {"id": team.bob.id}
        assert signature["visibility"] == visibility
        assert await snapshot(team.alice.client, "signature", alices["id"]) is not None
        assert await snapshot(team.bob.client, "signature", alices["id"]) is None

    async def test_a_spec_already_named_after_by_a_private_signature_gets_the_next_version(
        self, team: Team
    ) -> None:
        """Alice's program made a signature named after the spec; Bob cannot see it, so his
        program gets a signature of its own, in the next free version."""
        spec = fresh_spec()
        alices_program = await create_program(team.alice.client, signatureSpec=spec, ready=False)

        result = (
            await team.bob.client.data(
                CREATE_PROGRAM, input={"name": unique("p"), "signatureSpec": spec}
            )
        )["createProgram"]

        assert result["__typename"] == "Program", result
        signature = result["signature"]
        assert signature["id"] != alices_program["signature"]["id"]
        assert signature["owner"] == {"id": team.bob.id}
        assert (signature["name"], signature["version"]) == (spec, "1.0.1")

    async def test_a_spec_matching_a_shared_signature_reuses_it(self, team: Team) -> None:
        spec = fresh_spec()
        shared = await create_signature(team.alice.client, spec=spec, visibility=ORGANIZATION)

        result = (
            await team.bob.client.data(
                CREATE_PROGRAM, input={"name": unique("p"), "signatureSpec": spec}
            )
        )["createProgram"]

        assert result["__typename"] == "Program", result
        assert result["signature"]["id"] == shared["id"]

    async def test_a_signature_used_by_programs_one_cannot_see_is_not_deleted(
        self, team: Team
    ) -> None:
        signature = await create_signature(team.alice.client, visibility=ORGANIZATION)
        await create_program(team.bob.client, **on(signature), ready=False)

        result = await mutate(team.alice.client, "deleteSignature", "Signature", signature["id"])

        assert result["__typename"] == "ConflictError"
        after = await snapshot(team.alice.client, "signature", signature["id"])
        assert after is not None
        assert after["programCount"] == 0
