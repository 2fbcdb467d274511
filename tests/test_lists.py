"""Lists: Relay connections, keyset pagination, filters and orderBy, as a client sees them.

Every test runs in an organization of its own, so a list holds exactly what the test created.
Classes whose tests only read share one organization (`shared_client`) and make their data once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dspex_gql.app import create_app
from tests.support.app import make_settings
from tests.support.factories import create_program, create_signature, errors, execute
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant

Node = dict[str, Any]
OrderBy = list[tuple[str, str]]

MAX_PAGE_SIZE = 1000
SLOW = {"latency_ms": 60_000}  # executions of such a program stay PENDING or RUNNING


def list_query(field: str, type: str, node: str) -> str:
    return f"""
    query($filter: {type}Filter, $orderBy: [{type}Order!], $first: Int! = 50, $after: String) {{
      {field}(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
        totalCount
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {node} }} }}
        nodes {{ {node} }}
      }}
    }}"""


PROGRAMS = list_query("programs", "Program", "id name status createdAt updatedAt")
EXECUTIONS = list_query(
    "executions", "Execution", "id status createdAt completedAt durationMs program { id }"
)
ARCHIVE = (
    "mutation($id: ID!) { archiveProgram(id: $id) { __typename ... on Program { status } "
    + errors("NotFoundError")
    + "} }"
)
CLONE = (
    "mutation($id: ID!, $name: String!) { cloneProgram(id: $id, name: $name) {"
    " __typename ... on Program { id name parent { id } } } }"
)

# orderBy field -> the node field it sorts on
ORDER_FIELDS = {
    "NAME": "name",
    "CREATED_AT": "createdAt",
    "UPDATED_AT": "updatedAt",
    "COMPLETED_AT": "completedAt",
    "DURATION_MS": "durationMs",
}


@dataclass(frozen=True)
class Listing:
    """One list query of the API, and how a client walks it."""

    field: str
    query: str

    async def connection(self, client: GraphQLClient, **arguments: Any) -> dict[str, Any]:
        data = await client.data(self.query, **arguments)
        connection: dict[str, Any] = data[self.field]
        return connection

    async def everything(self, client: GraphQLClient, **arguments: Any) -> list[Node]:
        """The whole list in one page."""
        connection = await self.connection(client, first=MAX_PAGE_SIZE, **arguments)
        assert connection["pageInfo"]["hasNextPage"] is False
        assert connection["totalCount"] == len(connection["edges"])
        return [edge["node"] for edge in connection["edges"]]

    async def walk(self, client: GraphQLClient, size: int, **arguments: Any) -> list[Node]:
        """Every page of `size` in turn, following `endCursor`; checks each page's Relay shape."""
        seen: list[Node] = []
        after: str | None = None
        total: int | None = None
        while True:
            connection = await self.connection(client, first=size, after=after, **arguments)
            edges, info = connection["edges"], connection["pageInfo"]
            assert connection["nodes"] == [edge["node"] for edge in edges]
            assert info["hasPreviousPage"] is (after is not None)
            assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
            assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
            total = connection["totalCount"] if total is None else total
            assert connection["totalCount"] == total
            seen += [edge["node"] for edge in edges]
            if not info["hasNextPage"]:
                break
            assert len(edges) == size
            after = info["endCursor"]
        assert len(seen) == total
        assert len(set(ids(seen))) == total, "pages repeat rows"
        return seen


PROGRAM_LIST = Listing("programs", PROGRAMS)
EXECUTION_LIST = Listing("executions", EXECUTIONS)


def order_by(order: OrderBy) -> list[dict[str, str]]:
    return [{"field": field, "direction": direction} for field, direction in order]


def ids(nodes: list[Node]) -> list[str]:
    return [node["id"] for node in nodes]


def names(nodes: list[Node]) -> set[str]:
    return {node["name"] for node in nodes}


def sort_value(node: Node, field: str) -> Any:
    value = node[ORDER_FIELDS[field]]
    return (
        datetime.fromisoformat(value) if isinstance(value, str) and field.endswith("_AT") else value
    )


def sorted_like_the_api(nodes: list[Node], order: OrderBy) -> list[str]:
    """The documented order: each key in its direction with nulls last, then the id in the
    direction of the last key. Built from stable sorts, least significant key first."""
    last_descending = order[-1][1] == "DESC"
    ordered = sorted(nodes, key=lambda node: uuid.UUID(node["id"]), reverse=last_descending)
    for field, direction in reversed(order):
        descending = direction == "DESC"

        def key(node: Node, field: str = field, descending: bool = descending) -> tuple[Any, ...]:
            value = sort_value(node, field)
            if value is None:
                return (not descending,)  # with reverse=True, False sorts last
            return (descending, value)

        ordered.sort(key=key, reverse=descending)
    return ids(ordered)


def cursor_of(payload: Any) -> str:
    """A cursor a client forged: the same encoding the API uses, with other contents."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def codes(found: list[dict[str, Any]]) -> list[str]:
    return [error["extensions"]["code"] for error in found]


@pytest.fixture(scope="class")
async def shared_client(database_url: str) -> AsyncIterator[GraphQLClient]:
    """A client of an app (and organization) of its own, for a test class whose tests only
    read: the class's data is made once, not once per test."""
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        key = (await new_tenant(application)).admin_key
        async with GraphQLClient.for_app(application, key) as client:
            yield client


def on(signature: Node) -> dict[str, Any]:
    """`create_program` arguments binding the program to an existing signature."""
    return {"signatureId": signature["id"], "signatureSpec": None}


async def create_programs(client: GraphQLClient, names: list[str]) -> list[Node]:
    """Draft programs, one after the other (so their createdAt differ)."""
    signature = await create_signature(client)
    return [await create_program(client, name=name, **on(signature), ready=False) for name in names]


@pytest.fixture(scope="class")
async def programs_with_ties(shared_client: GraphQLClient) -> list[Node]:
    """Seven programs, four named alike."""
    return await create_programs(
        shared_client, ["mike", "alpha", "mike", "zulu", "mike", "alpha", "mike"]
    )


@dataclass(frozen=True)
class ExecutionSet:
    finished: list[Node]
    unfinished: list[Node]


@pytest.fixture(scope="class")
async def executions_with_nulls(shared_client: GraphQLClient) -> ExecutionSet:
    """Five finished executions (durations tie) and three that never finish here: their
    completedAt and durationMs stay null."""
    fast = await create_program(shared_client)
    slow = await create_program(shared_client, configuration=SLOW)
    finished = [
        await execute(
            shared_client, fast["id"], wait=True, variableConfiguration={"latency_ms": ms}
        )
        for ms in (0, 5, 0, 12, 5)
    ]
    unfinished = [await execute(shared_client, slow["id"]) for _ in range(3)]
    assert {execution["status"] for execution in finished} == {"COMPLETED"}
    assert {execution["status"] for execution in unfinished} <= {"PENDING", "RUNNING"}
    return ExecutionSet(finished, unfinished)


class TestProgramPages:
    @pytest.mark.parametrize(
        "order",
        [
            [("NAME", "ASC")],
            [("NAME", "DESC")],
            [("CREATED_AT", "ASC")],
            [("CREATED_AT", "DESC")],
            [("UPDATED_AT", "DESC")],
            [("NAME", "ASC"), ("CREATED_AT", "DESC")],
            [("NAME", "DESC"), ("CREATED_AT", "ASC")],
        ],
    )
    async def test_walking_pages_gives_every_program_once_in_order(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], order: OrderBy
    ) -> None:
        unpaged = await PROGRAM_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await PROGRAM_LIST.walk(shared_client, 3, orderBy=order_by(order))

        assert ids(unpaged) == sorted_like_the_api(programs_with_ties, order)
        assert ids(walked) == ids(unpaged)

    async def test_programs_with_the_same_name_keep_a_stable_order_by_id(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        walked = await PROGRAM_LIST.walk(shared_client, 2, orderBy=order_by([("NAME", "ASC")]))

        mikes = [node["id"] for node in walked if node["name"] == "mike"]
        assert len(mikes) == 4
        assert mikes == sorted(mikes, key=uuid.UUID)

    async def test_newest_first_by_default(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        walked = await PROGRAM_LIST.walk(shared_client, 3)

        assert ids(walked) == ids(programs_with_ties)[::-1]

    async def test_only_the_first_page_has_no_previous_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        first = await PROGRAM_LIST.connection(shared_client, first=3)
        second = await PROGRAM_LIST.connection(
            shared_client, first=3, after=first["pageInfo"]["endCursor"]
        )
        last = await PROGRAM_LIST.connection(
            shared_client, first=3, after=second["pageInfo"]["endCursor"]
        )

        pages = [first["pageInfo"], second["pageInfo"], last["pageInfo"]]
        assert [info["hasPreviousPage"] for info in pages] == [False, True, True]
        assert [info["hasNextPage"] for info in pages] == [True, True, False]
        assert [len(page["edges"]) for page in (first, second, last)] == [3, 3, 1]

    async def test_total_count_is_the_whole_filtered_list_not_the_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        everything = await PROGRAM_LIST.connection(shared_client, first=2)
        mikes = await PROGRAM_LIST.connection(
            shared_client, first=2, filter={"name": {"eq": "mike"}}
        )

        assert (len(everything["edges"]), everything["totalCount"]) == (2, 7)
        assert (len(mikes["edges"]), mikes["totalCount"]) == (2, 4)

    async def test_a_page_exactly_as_long_as_the_list_has_no_next_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        whole = await PROGRAM_LIST.connection(shared_client, first=7)
        one_short = await PROGRAM_LIST.connection(shared_client, first=6)

        assert (len(whole["edges"]), whole["pageInfo"]["hasNextPage"]) == (7, False)
        assert (len(one_short["edges"]), one_short["pageInfo"]["hasNextPage"]) == (6, True)

    async def test_first_zero_is_an_empty_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        connection = await PROGRAM_LIST.connection(shared_client, first=0)

        assert connection["edges"] == connection["nodes"] == []
        assert connection["pageInfo"]["startCursor"] is None
        assert connection["pageInfo"]["endCursor"] is None
        assert connection["pageInfo"]["hasPreviousPage"] is False
        assert connection["totalCount"] == 7

    async def test_a_cursor_past_the_end_gives_an_empty_last_page(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        whole = await PROGRAM_LIST.connection(shared_client, first=7)

        after = await PROGRAM_LIST.connection(shared_client, after=whole["pageInfo"]["endCursor"])

        assert after["edges"] == []
        assert after["pageInfo"]["hasNextPage"] is False
        assert after["pageInfo"]["hasPreviousPage"] is True

    async def test_an_empty_organization_has_an_empty_list(self, client: GraphQLClient) -> None:
        connection = await PROGRAM_LIST.connection(client)

        assert connection["edges"] == []
        assert connection["totalCount"] == 0
        assert connection["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        }


class TestExecutionPages:
    @pytest.mark.parametrize("size", [2, 3])
    @pytest.mark.parametrize(
        "order",
        [
            [("CREATED_AT", "ASC")],
            [("COMPLETED_AT", "ASC")],
            [("COMPLETED_AT", "DESC")],
            [("DURATION_MS", "ASC")],
            [("DURATION_MS", "DESC")],
            [("DURATION_MS", "DESC"), ("CREATED_AT", "ASC")],
            [("DURATION_MS", "ASC"), ("COMPLETED_AT", "DESC")],
        ],
    )
    async def test_walking_pages_over_null_values_gives_every_execution_once_in_order(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        order: OrderBy,
        size: int,
    ) -> None:
        unpaged = await EXECUTION_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await EXECUTION_LIST.walk(shared_client, size, orderBy=order_by(order))

        assert len(unpaged) == 8
        assert ids(unpaged) == sorted_like_the_api(unpaged, order)
        assert ids(walked) == ids(unpaged)

    @pytest.mark.parametrize("direction", ["ASC", "DESC"])
    @pytest.mark.parametrize("field", ["COMPLETED_AT", "DURATION_MS"])
    async def test_unfinished_executions_come_last_in_either_direction(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        field: str,
        direction: str,
    ) -> None:
        walked = await EXECUTION_LIST.walk(shared_client, 3, orderBy=order_by([(field, direction)]))

        values = [node[ORDER_FIELDS[field]] for node in walked]
        assert values[5:] == [None, None, None]
        assert None not in values[:5]
        assert set(ids(walked[5:])) == set(ids(executions_with_nulls.unfinished))
        finished = [sort_value(node, field) for node in walked[:5]]
        assert finished == sorted(finished, reverse=direction == "DESC")

    @settings(
        max_examples=25,
        deadline=None,
    )
    @given(
        order=st.lists(
            st.tuples(
                st.sampled_from(["CREATED_AT", "COMPLETED_AT", "DURATION_MS"]),
                st.sampled_from(["ASC", "DESC"]),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda key: key[0],
        ),
        size=st.integers(min_value=1, max_value=9),
    )
    async def test_any_order_and_page_size_agree_with_a_python_sort(
        self,
        shared_client: GraphQLClient,
        executions_with_nulls: ExecutionSet,
        order: OrderBy,
        size: int,
    ) -> None:
        unpaged = await EXECUTION_LIST.everything(shared_client, orderBy=order_by(order))

        walked = await EXECUTION_LIST.walk(shared_client, size, orderBy=order_by(order))

        assert ids(walked) == sorted_like_the_api(unpaged, order)


class TestNestedLists:
    async def test_a_programs_executions_are_its_own_page_by_page(
        self, client: GraphQLClient
    ) -> None:
        program, other = await create_program(client), await create_program(client)
        mine = [(await execute(client, program["id"], wait=True))["id"] for _ in range(3)]
        await execute(client, other["id"], wait=True)
        query = """query($id: ID!, $after: String) { program(id: $id) {
            executions(first: 2, after: $after, orderBy: [{field: CREATED_AT}]) {
              totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }"""

        async def page(after: str | None = None) -> dict[str, Any]:
            data = await client.data(query, id=program["id"], after=after)
            executions: dict[str, Any] = data["program"]["executions"]
            return executions

        first = await page()
        second = await page(first["pageInfo"]["endCursor"])

        assert ids(first["nodes"]) + ids(second["nodes"]) == mine
        assert (first["totalCount"], second["totalCount"]) == (3, 3)
        assert first["pageInfo"]["hasNextPage"] is True
        assert second["pageInfo"]["hasNextPage"] is False

    async def test_a_signatures_programs_are_its_own_page_by_page(
        self, client: GraphQLClient
    ) -> None:
        signature = await create_signature(client)
        mine = [await create_program(client, **on(signature), ready=False) for _ in range(3)]
        await create_program(client, signatureSpec="text -> label", ready=False)
        query = """query($id: ID!, $after: String) { signature(id: $id) {
            programs(first: 2, after: $after) {
              totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }"""

        async def page(after: str | None = None) -> dict[str, Any]:
            data = await client.data(query, id=signature["id"], after=after)
            programs: dict[str, Any] = data["signature"]["programs"]
            return programs

        first = await page()
        second = await page(first["pageInfo"]["endCursor"])

        assert ids(first["nodes"]) + ids(second["nodes"]) == ids(mine)[::-1]
        assert (first["totalCount"], second["totalCount"]) == (3, 3)
        assert second["pageInfo"]["hasNextPage"] is False


@dataclass(frozen=True)
class Catalog:
    """Programs made to tell filters apart."""

    programs: list[Node]
    signature_a: str
    signature_b: str

    def named(self, name: str) -> Node:
        return next(program for program in self.programs if program["name"] == name)


@pytest.fixture(scope="class")
async def catalog(shared_client: GraphQLClient) -> Catalog:
    a = await create_signature(shared_client, spec="question -> answer")
    b = await create_signature(shared_client, spec="document -> summary")
    made = await asyncio.gather(
        create_program(shared_client, name="Alpha QA", tags=["nlp", "qa"], **on(a), ready=True),
        create_program(
            shared_client,
            name="alpha summarizer",
            tags=["nlp"],
            type="CHAIN_OF_THOUGHT",
            visibility="ORGANIZATION",
            **on(a),
            ready=False,
        ),
        create_program(shared_client, name="Beta", type="REACT", **on(b), ready=False),
        create_program(
            shared_client,
            name="50% off_sale",
            tags=["promo"],
            visibility="ORGANIZATION",
            **on(b),
            ready=True,
        ),
        create_program(shared_client, name="500 off/sale", tags=["qa"], **on(a), ready=False),
    )
    beta = next(program for program in made if program["name"] == "Beta")
    clone = (await shared_client.data(CLONE, id=beta["id"], name="Beta v2"))["cloneProgram"]
    assert clone["__typename"] == "Program"
    listed = await PROGRAM_LIST.everything(shared_client, orderBy=order_by([("NAME", "ASC")]))
    assert len(listed) == 6
    return Catalog(listed, a["id"], b["id"])


async def filtered(client: GraphQLClient, filter: dict[str, Any] | None) -> set[str]:
    """The names of the programs the filter lists; totalCount must agree."""
    connection = await PROGRAM_LIST.connection(client, filter=filter, first=MAX_PAGE_SIZE)
    assert connection["totalCount"] == len(connection["edges"])
    return names([edge["node"] for edge in connection["edges"]])


ALL = {"Alpha QA", "alpha summarizer", "Beta", "50% off_sale", "500 off/sale", "Beta v2"}
READY = {"Alpha QA", "50% off_sale"}
NLP = {"Alpha QA", "alpha summarizer"}


class TestStringFilter:
    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"eq": "Beta"}, {"Beta"}),
            ({"eq": "beta"}, set()),
            ({"neq": "Beta"}, ALL - {"Beta"}),
            ({"in": ["Beta", "Beta v2", "Gamma"]}, {"Beta", "Beta v2"}),
            ({"in": []}, set()),
            ({"nin": ["Beta", "Beta v2"]}, ALL - {"Beta", "Beta v2"}),
            ({"nin": []}, ALL),
            ({"contains": "qa"}, {"Alpha QA"}),
            ({"contains": "SUMMAR"}, {"alpha summarizer"}),
            ({"startsWith": "ALPHA"}, {"Alpha QA", "alpha summarizer"}),
            ({"startsWith": "beta V"}, {"Beta v2"}),
            ({"startsWith": "QA"}, set()),
            ({"isNull": True}, set()),
            ({"isNull": False}, ALL),
            ({"startsWith": "b", "neq": "Beta"}, {"Beta v2"}),
        ],
    )
    async def test_name_operators(
        self,
        shared_client: GraphQLClient,
        catalog: Catalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, {"name": operators}) == expected

    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"contains": "%"}, {"50% off_sale"}),
            ({"contains": "0%"}, {"50% off_sale"}),
            ({"contains": "_"}, {"50% off_sale"}),
            ({"contains": "f_s"}, {"50% off_sale"}),
            ({"contains": "f/s"}, {"500 off/sale"}),
            ({"startsWith": "50%"}, {"50% off_sale"}),
            ({"startsWith": "5_0"}, set()),
            ({"startsWith": "%"}, set()),
        ],
    )
    async def test_like_wildcards_match_literally(
        self,
        shared_client: GraphQLClient,
        catalog: Catalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, {"name": operators}) == expected

    async def test_contains_ignores_the_case_of_accented_letters(
        self, client: GraphQLClient
    ) -> None:
        await create_programs(client, ["Écrire", "écrire bien", "ecrire"])

        contains = await filtered(client, {"name": {"contains": "éCRIRE"}})
        starts = await filtered(client, {"name": {"startsWith": "ÉC"}})

        assert contains == {"Écrire", "écrire bien"}
        assert starts == {"Écrire", "écrire bien"}

    async def test_adapter_is_a_string_field_too(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        assert await filtered(shared_client, {"adapter": {"eq": "mock"}}) == ALL
        assert await filtered(shared_client, {"adapter": {"neq": "mock"}}) == set()


class TestEnumFilter:
    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({"status": {"eq": "READY"}}, READY),
            ({"status": {"neq": "READY"}}, ALL - READY),
            ({"status": {"in": ["DRAFT"]}}, ALL - READY),
            ({"status": {"in": ["DRAFT", "READY"]}}, ALL),
            ({"status": {"nin": ["DRAFT"]}}, READY),
            ({"type": {"eq": "CHAIN_OF_THOUGHT"}}, {"alpha summarizer"}),
            (
                {"type": {"in": ["REACT", "CHAIN_OF_THOUGHT"]}},
                {"alpha summarizer", "Beta", "Beta v2"},
            ),
            ({"type": {"nin": ["PREDICT"]}}, {"alpha summarizer", "Beta", "Beta v2"}),
            ({"type": {"neq": "PREDICT"}}, {"alpha summarizer", "Beta", "Beta v2"}),
            ({"visibility": {"eq": "ORGANIZATION"}}, {"alpha summarizer", "50% off_sale"}),
            ({"visibility": {"neq": "PRIVATE"}}, {"alpha summarizer", "50% off_sale"}),
        ],
    )
    async def test_enum_operators(
        self,
        shared_client: GraphQLClient,
        catalog: Catalog,
        filter: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, filter) == expected

    async def test_an_unknown_enum_value_is_refused(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        found = await shared_client.errors(PROGRAMS, filter={"status": {"eq": "SLEEPING"}})

        assert "SLEEPING" in found[0]["message"]


class TestTagFilter:
    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"contains": "nlp"}, NLP),
            ({"contains": "NLP"}, set()),
            ({"contains": "missing"}, set()),
            ({"containsAll": ["nlp", "qa"]}, {"Alpha QA"}),
            ({"containsAll": ["qa"]}, {"Alpha QA", "500 off/sale"}),
            ({"containsAll": []}, ALL),
            ({"containsAny": ["qa", "promo"]}, {"Alpha QA", "500 off/sale", "50% off_sale"}),
            ({"containsAny": ["missing"]}, set()),
            ({"containsAny": []}, set()),
        ],
    )
    async def test_tag_operators(
        self,
        shared_client: GraphQLClient,
        catalog: Catalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, {"tags": operators}) == expected


class TestIDFilter:
    async def test_by_signature(self, shared_client: GraphQLClient, catalog: Catalog) -> None:
        a, b = catalog.signature_a, catalog.signature_b
        signature_a = {"Alpha QA", "alpha summarizer", "500 off/sale"}

        assert await filtered(shared_client, {"signatureId": {"eq": a}}) == signature_a
        assert await filtered(shared_client, {"signatureId": {"neq": a}}) == ALL - signature_a
        assert await filtered(shared_client, {"signatureId": {"in": [a, b]}}) == ALL
        assert await filtered(shared_client, {"signatureId": {"nin": [b]}}) == signature_a
        assert await filtered(shared_client, {"signatureId": {"eq": str(uuid.uuid4())}}) == set()

    async def test_by_parent(self, shared_client: GraphQLClient, catalog: Catalog) -> None:
        beta = catalog.named("Beta")["id"]

        assert await filtered(shared_client, {"parentId": {"eq": beta}}) == {"Beta v2"}
        assert await filtered(shared_client, {"parentId": {"in": [beta, str(uuid.uuid4())]}}) == {
            "Beta v2"
        }
        assert await filtered(shared_client, {"parentId": {"isNull": False}}) == {"Beta v2"}
        assert await filtered(shared_client, {"parentId": {"isNull": True}}) == ALL - {"Beta v2"}

    async def test_ids_are_not_case_sensitive(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        beta = catalog.named("Beta")["id"]

        assert await filtered(shared_client, {"parentId": {"eq": beta.upper()}}) == {"Beta v2"}

    @pytest.mark.parametrize(
        "filter",
        [
            {"signatureId": {"eq": "not-a-uuid"}},
            {"parentId": {"in": [str(uuid.uuid4()), "42"]}},
            {"or": [{"name": {"eq": "Beta"}}, {"not": {"parentId": {"neq": "nope"}}}]},
        ],
    )
    async def test_a_malformed_id_fails_validation(
        self, client: GraphQLClient, filter: dict[str, Any]
    ) -> None:
        found = await client.errors(PROGRAMS, filter=filter)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "not a valid ID" in found[0]["message"]

    async def test_a_malformed_id_names_the_filter_field_as_the_client_wrote_it(
        self, client: GraphQLClient
    ) -> None:
        found = await client.errors(PROGRAMS, filter={"signatureId": {"eq": "not-a-uuid"}})

        assert found[0]["extensions"]["fieldErrors"][0]["field"] == "filter.signatureId"


class TestDateTimeFilter:
    @staticmethod
    def pivot(catalog: Catalog) -> tuple[str, datetime]:
        """The program created in the middle of the catalog, and when."""
        middle = sorted(catalog.programs, key=lambda node: sort_value(node, "CREATED_AT"))[3]
        return middle["name"], datetime.fromisoformat(middle["createdAt"])

    async def test_around_a_programs_creation(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        name, at = self.pivot(catalog)
        created = {
            node["name"]: datetime.fromisoformat(node["createdAt"]) for node in catalog.programs
        }
        expected = {
            "gt": {other for other, when in created.items() if when > at},
            "gte": {other for other, when in created.items() if when >= at},
            "lt": {other for other, when in created.items() if when < at},
            "lte": {other for other, when in created.items() if when <= at},
            "eq": {name},
            "neq": ALL - {name},
        }
        assert expected["gt"], "the catalog's programs are created at different times"
        assert expected["lt"]

        found = {
            op: await filtered(shared_client, {"createdAt": {op: at.isoformat()}})
            for op in expected
        }

        assert found == expected

    async def test_a_value_without_time_zone_is_utc(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        name, at = self.pivot(catalog)
        naive = at.replace(tzinfo=None).isoformat()
        in_paris = at.astimezone(timezone(timedelta(hours=2))).isoformat()

        after_utc = await filtered(shared_client, {"createdAt": {"gt": at.isoformat()}})
        after_naive = await filtered(shared_client, {"createdAt": {"gt": naive}})
        after_paris = await filtered(shared_client, {"createdAt": {"gt": in_paris}})
        after_naive_in_paris = await filtered(
            shared_client, {"createdAt": {"gt": naive + "+02:00"}}
        )

        assert after_naive == after_paris == after_utc
        assert after_naive_in_paris == ALL != after_utc
        assert await filtered(shared_client, {"createdAt": {"eq": naive}}) == {name}

    async def test_far_bounds(self, shared_client: GraphQLClient, catalog: Catalog) -> None:
        assert await filtered(shared_client, {"createdAt": {"gt": "2000-01-01T00:00:00Z"}}) == ALL
        assert await filtered(shared_client, {"updatedAt": {"gt": "2999-01-01T00:00:00Z"}}) == set()
        assert await filtered(shared_client, {"createdAt": {"isNull": True}}) == set()


class TestLogicalFilters:
    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({}, ALL),
            ({"name": {"startsWith": "alpha"}, "status": {"eq": "READY"}}, {"Alpha QA"}),
            (
                {
                    "or": [
                        {"name": {"eq": "Beta"}},
                        {
                            "and": [
                                {"tags": {"contains": "nlp"}},
                                {"type": {"eq": "CHAIN_OF_THOUGHT"}},
                            ]
                        },
                    ]
                },
                {"Beta", "alpha summarizer"},
            ),
            ({"not": {"tags": {"contains": "nlp"}}}, ALL - NLP),
            ({"not": {"not": {"tags": {"contains": "nlp"}}}}, NLP),
            (
                {"not": {"or": [{"status": {"eq": "READY"}}, {"parentId": {"isNull": False}}]}},
                {"alpha summarizer", "Beta", "500 off/sale"},
            ),
            (
                {"and": [{"name": {"startsWith": "b"}}, {"not": {"name": {"eq": "Beta"}}}]},
                {"Beta v2"},
            ),
            (
                {
                    "tags": {"contains": "qa"},
                    "or": [{"status": {"eq": "READY"}}, {"name": {"contains": "/"}}],
                },
                {"Alpha QA", "500 off/sale"},
            ),
            ({"and": [{"name": {"eq": "Beta"}}, {"name": {"eq": "Beta v2"}}]}, set()),
            ({"or": [{"name": {"eq": "Beta"}}, {"name": {"eq": "Beta v2"}}]}, {"Beta", "Beta v2"}),
            ({"and": []}, ALL),
        ],
    )
    async def test_and_or_not(
        self,
        shared_client: GraphQLClient,
        catalog: Catalog,
        filter: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, filter) == expected

    async def test_a_filter_pages_like_any_list(
        self, shared_client: GraphQLClient, catalog: Catalog
    ) -> None:
        not_beta = {"not": {"name": {"eq": "Beta"}}}

        walked = await PROGRAM_LIST.walk(
            shared_client, 2, filter=not_beta, orderBy=order_by([("NAME", "DESC")])
        )

        expected = [node for node in catalog.programs if node["name"] != "Beta"]
        assert ids(walked) == sorted_like_the_api(expected, [("NAME", "DESC")])


@pytest.fixture(scope="class")
async def archived(shared_client: GraphQLClient) -> dict[str, Node]:
    """Two programs, one archived."""
    kept = await create_program(shared_client, name="kept")
    gone = await create_program(shared_client, name="gone")
    result = (await shared_client.data(ARCHIVE, id=gone["id"]))["archiveProgram"]
    assert result == {"__typename": "Program", "status": "ARCHIVED"}
    return {"kept": kept, "gone": gone}


class TestArchivedPrograms:
    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            (None, {"kept"}),
            ({}, {"kept"}),
            ({"name": {"eq": "gone"}}, set()),
            ({"name": {"in": ["kept", "gone"]}}, {"kept"}),
            ({"not": {"name": {"eq": "kept"}}}, set()),
        ],
    )
    async def test_hidden_unless_the_filter_mentions_status(
        self,
        shared_client: GraphQLClient,
        archived: dict[str, Node],
        filter: dict[str, Any] | None,
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, filter) == expected

    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ({"status": {"eq": "ARCHIVED"}}, {"gone"}),
            ({"status": {"in": ["READY", "ARCHIVED"]}}, {"kept", "gone"}),
            ({"status": {"neq": "READY"}}, {"gone"}),
            ({"status": {"nin": ["DRAFT"]}}, {"kept", "gone"}),
            ({"not": {"status": {"eq": "READY"}}}, {"gone"}),
            ({"or": [{"name": {"eq": "kept"}}, {"status": {"eq": "ARCHIVED"}}]}, {"kept", "gone"}),
            ({"and": [{"name": {"eq": "gone"}}, {"status": {"in": ["ARCHIVED"]}}]}, {"gone"}),
        ],
    )
    async def test_listed_when_the_filter_mentions_status_anywhere(
        self,
        shared_client: GraphQLClient,
        archived: dict[str, Node],
        filter: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert await filtered(shared_client, filter) == expected

    async def test_still_found_by_id_and_not_in_its_signatures_programs(
        self, shared_client: GraphQLClient, archived: dict[str, Node]
    ) -> None:
        query = (
            "query($id: ID!) { program(id: $id) { status signature { programCount"
            " programs { totalCount nodes { name } } } } }"
        )

        program = (await shared_client.data(query, id=archived["gone"]["id"]))["program"]

        assert program["status"] == "ARCHIVED"
        assert program["signature"]["programCount"] == 2
        assert program["signature"]["programs"]["totalCount"] == 1
        assert names(program["signature"]["programs"]["nodes"]) == {"kept"}


@dataclass(frozen=True)
class ExecutionCatalog:
    """Executions by role: `quick`, `slow` (15 ms) and `failed` of program `fast`, `other` of
    program `other`, and `unfinished` of program `slow` (it never finishes here)."""

    programs: dict[str, str]
    executions: dict[str, Node]

    def ids(self, *roles: str) -> set[str]:
        return {self.executions[role]["id"] for role in roles}


@pytest.fixture(scope="class")
async def execution_catalog(shared_client: GraphQLClient) -> ExecutionCatalog:
    client = shared_client
    fast = await create_program(client, configuration={"fail_on": {"question": "boom"}})
    other = await create_program(client)
    slow = await create_program(client, configuration=SLOW)
    executions = {
        "quick": await execute(client, fast["id"], wait=True),
        "slow": await execute(
            client, fast["id"], wait=True, variableConfiguration={"latency_ms": 15}
        ),
        "failed": await execute(client, fast["id"], wait=True, inputs={"question": "boom"}),
        "other": await execute(client, other["id"], wait=True),
        "unfinished": await execute(client, slow["id"]),
    }
    statuses = [executions[role]["status"] for role in ("quick", "slow", "other", "failed")]
    assert statuses == ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]
    programs = {"fast": fast["id"], "other": other["id"], "slow": slow["id"]}
    return ExecutionCatalog(programs, executions)


async def executions_matching(client: GraphQLClient, filter: dict[str, Any]) -> set[str]:
    """The ids of the executions the filter lists; totalCount must agree."""
    connection = await EXECUTION_LIST.connection(client, filter=filter, first=MAX_PAGE_SIZE)
    assert connection["totalCount"] == len(connection["edges"])
    return set(ids([edge["node"] for edge in connection["edges"]]))


FINISHED = ("quick", "slow", "failed", "other")


class TestExecutionFilters:
    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"eq": "fast"}, {"quick", "slow", "failed"}),
            ({"in": ["fast", "other"]}, {"quick", "slow", "failed", "other"}),
            ({"neq": "fast"}, {"other", "unfinished"}),
            ({"nin": ["fast", "other"]}, {"unfinished"}),
        ],
    )
    async def test_by_program(
        self,
        shared_client: GraphQLClient,
        execution_catalog: ExecutionCatalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        programs = execution_catalog.programs
        by_id = {
            op: [programs[name] for name in value] if isinstance(value, list) else programs[value]
            for op, value in operators.items()
        }

        found = await executions_matching(shared_client, {"programId": by_id})

        assert found == execution_catalog.ids(*expected)

    @pytest.mark.parametrize(
        ("operators", "expected"),
        [
            ({"eq": "COMPLETED"}, {"quick", "slow", "other"}),
            ({"neq": "COMPLETED"}, {"failed", "unfinished"}),
            ({"in": ["FAILED", "PENDING", "RUNNING"]}, {"failed", "unfinished"}),
            ({"nin": ["COMPLETED", "FAILED"]}, {"unfinished"}),
            ({"in": ["CANCELLED"]}, set()),
        ],
    )
    async def test_by_status(
        self,
        shared_client: GraphQLClient,
        execution_catalog: ExecutionCatalog,
        operators: dict[str, Any],
        expected: set[str],
    ) -> None:
        found = await executions_matching(shared_client, {"status": operators})

        assert found == execution_catalog.ids(*expected)

    async def test_by_duration(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        listed = await EXECUTION_LIST.everything(shared_client)
        durations: dict[str, int] = {
            e["id"]: e["durationMs"] for e in listed if e["durationMs"] is not None
        }
        pivot = durations[execution_catalog.executions["slow"]["id"]]
        assert pivot >= 15
        unfinished = execution_catalog.ids("unfinished")

        def lasting(test: Callable[[int], bool]) -> set[str]:
            return {id for id, ms in durations.items() if test(ms)}

        expected = {
            "gte": lasting(lambda ms: ms >= pivot),
            "gt": lasting(lambda ms: ms > pivot),
            "lt": lasting(lambda ms: ms < pivot),
            "lte": lasting(lambda ms: ms <= pivot),
            "eq": lasting(lambda ms: ms == pivot),
            "neq": lasting(lambda ms: ms != pivot) | unfinished,
            "in": lasting(lambda ms: ms == pivot),
            "nin": lasting(lambda ms: ms != pivot) | unfinished,
        }
        values: dict[str, Any] = dict.fromkeys(expected, pivot) | {
            "in": [pivot, -1],
            "nin": [pivot],
        }

        found = {
            op: await executions_matching(shared_client, {"durationMs": {op: values[op]}})
            for op in expected
        }

        assert found == expected
        assert (
            await executions_matching(shared_client, {"durationMs": {"isNull": True}}) == unfinished
        )
        assert await executions_matching(
            shared_client, {"durationMs": {"isNull": False}}
        ) == execution_catalog.ids(*FINISHED)

    async def test_by_completion_and_creation(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        c = execution_catalog
        slow = c.executions["slow"]

        unfinished = await executions_matching(shared_client, {"completedAt": {"isNull": True}})
        later = await executions_matching(
            shared_client, {"completedAt": {"gt": slow["completedAt"]}}
        )
        since = await executions_matching(
            shared_client,
            {"createdAt": {"gte": slow["createdAt"]}, "status": {"eq": "COMPLETED"}},
        )

        assert unfinished == c.ids("unfinished")
        assert later == c.ids("failed", "other")
        assert since == c.ids("slow", "other")

    async def test_and_or_not(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        programs = execution_catalog.programs
        filter = {
            "or": [
                {"programId": {"eq": programs["other"]}},
                {
                    "and": [
                        {"programId": {"eq": programs["fast"]}},
                        {"not": {"status": {"eq": "COMPLETED"}}},
                    ]
                },
            ]
        }

        found = await executions_matching(shared_client, filter)

        assert found == execution_catalog.ids("other", "failed")

    async def test_a_programs_executions_filter_within_the_program(
        self, shared_client: GraphQLClient, execution_catalog: ExecutionCatalog
    ) -> None:
        query = (
            "query($id: ID!) { program(id: $id) {"
            " executions(filter: {status: {eq: COMPLETED}}) { totalCount nodes { id } } } }"
        )

        data = await shared_client.data(query, id=execution_catalog.programs["fast"])

        executions = data["program"]["executions"]
        assert executions["totalCount"] == 2
        assert set(ids(executions["nodes"])) == execution_catalog.ids("quick", "slow")

    async def test_a_malformed_program_id_fails_validation(self, client: GraphQLClient) -> None:
        found = await client.errors(EXECUTIONS, filter={"programId": {"eq": "program-1"}})

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "program-1" in found[0]["message"]


class TestBadArguments:
    @pytest.mark.parametrize("first", [-1, MAX_PAGE_SIZE + 1, 2**31 - 1])
    async def test_first_out_of_range_fails_validation(
        self, client: GraphQLClient, first: int
    ) -> None:
        found = await client.errors(PROGRAMS, first=first)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "first" in found[0]["message"]
        assert found[0]["path"] == ["programs"]

    async def test_first_at_the_cap_is_fine(self, client: GraphQLClient) -> None:
        connection = await PROGRAM_LIST.connection(client, first=MAX_PAGE_SIZE)

        assert connection["edges"] == []

    async def test_first_is_checked_on_nested_lists_too(self, client: GraphQLClient) -> None:
        program = await create_program(client)
        query = "query($id: ID!) { program(id: $id) { executions(first: -1) { totalCount } } }"

        found = await client.errors(query, id=program["id"])

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "first" in found[0]["message"]

    @pytest.mark.parametrize(
        "after",
        ["garbage", "", "%%%", cursor_of([1, 2]), cursor_of({"o": "name:asc"}), "eyJv"],
    )
    async def test_a_garbage_cursor_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], after: str
    ) -> None:
        found = await shared_client.errors(PROGRAMS, after=after)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "cursor" in found[0]["message"]

    @pytest.mark.parametrize(
        "values",
        [
            ["yesterday", "not-an-id"],
            [{"t": "2024-01-01T00:00:00"}, {"u": str(uuid.uuid4())}],
            [None, None],
        ],
        ids=["strings", "naive-datetime", "nulls"],
    )
    async def test_a_tampered_cursor_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node], values: list[Any]
    ) -> None:
        after = cursor_of({"l": "programs", "o": ["created_at:desc"], "v": values})

        found = await shared_client.errors(PROGRAMS, after=after)

        assert codes(found) == ["VALIDATION_FAILED"]
        assert found[0]["message"] == "Validation failed: after: Invalid cursor"

    async def test_a_cursor_from_another_list_fails_validation(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2)

        found = await shared_client.errors(EXECUTIONS, after=page["pageInfo"]["endCursor"])

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "another list" in found[0]["message"]

    @pytest.mark.parametrize(
        ("issued_for", "used_with"),
        [
            ([("NAME", "ASC")], [("NAME", "DESC")]),
            ([("NAME", "ASC")], [("CREATED_AT", "DESC")]),
            ([("NAME", "ASC")], [("NAME", "ASC"), ("CREATED_AT", "ASC")]),
            ([("CREATED_AT", "DESC")], [("UPDATED_AT", "DESC")]),
        ],
    )
    async def test_a_cursor_from_another_order_fails_validation(
        self,
        shared_client: GraphQLClient,
        programs_with_ties: list[Node],
        issued_for: OrderBy,
        used_with: OrderBy,
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2, orderBy=order_by(issued_for))

        found = await shared_client.errors(
            PROGRAMS, after=page["pageInfo"]["endCursor"], orderBy=order_by(used_with)
        )

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "orderBy" in found[0]["message"]

    async def test_the_default_order_is_created_at_descending_for_cursors_too(
        self, shared_client: GraphQLClient, programs_with_ties: list[Node]
    ) -> None:
        page = await PROGRAM_LIST.connection(shared_client, first=2)

        explicit = await PROGRAM_LIST.connection(
            shared_client,
            after=page["pageInfo"]["endCursor"],
            orderBy=order_by([("CREATED_AT", "DESC")]),
        )

        assert ids(page["nodes"]) + ids(explicit["nodes"]) == ids(programs_with_ties)[::-1]

    @pytest.mark.parametrize(
        "order",
        [
            [("NAME", "ASC"), ("NAME", "ASC")],
            [("NAME", "ASC"), ("NAME", "DESC")],
            [("CREATED_AT", "ASC"), ("NAME", "ASC"), ("CREATED_AT", "DESC")],
        ],
    )
    async def test_the_same_field_twice_in_order_by_fails_validation(
        self, client: GraphQLClient, order: OrderBy
    ) -> None:
        found = await client.errors(PROGRAMS, orderBy=order_by(order))

        assert codes(found) == ["VALIDATION_FAILED"]
        assert "orderBy" in found[0]["message"]

    async def test_the_same_field_twice_is_refused_on_executions_too(
        self, client: GraphQLClient
    ) -> None:
        order = order_by([("DURATION_MS", "ASC"), ("DURATION_MS", "DESC")])

        found = await client.errors(EXECUTIONS, orderBy=order)

        assert codes(found) == ["VALIDATION_FAILED"]
