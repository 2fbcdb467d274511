"""Filters on the list of programs: strings, enums, tags, IDs, times, and, or, not; archived
programs."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.lists.helpers import (
    MAX_PAGE_SIZE,
    PROGRAM_LIST,
    PROGRAMS,
    Node,
    codes,
    create_programs,
    ids,
    names,
    on,
    order_by,
    sort_value,
    sorted_like_the_api,
)
from tests.support.factories import create_program, create_signature, errors
from tests.support.http_client import GraphQLClient

ARCHIVE = (
    "mutation($id: ID!) { archiveProgram(id: $id) { __typename ... on Program { status } "
    + errors("NotFoundError")
    + "} }"
)
CLONE = (
    "mutation($id: ID!, $name: String!) { cloneProgram(id: $id, name: $name) {"
    " __typename ... on Program { id name parent { id } } } }"
)


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
