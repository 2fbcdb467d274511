"""A GraphQL request leaves no reference cycle behind: what it made is freed as soon as it ends,
not at the garbage collector's next pass, which would stall some later request
(`graphql/execution.py`; `db/repository.get_many`, whose statement is built once)."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy.sql.elements import BindParameter

from dspex_gql.graphql.context import Context
from dspex_gql.graphql.execution import ServiceExecutionContext, _WeaklyBound
from tests.support.factories import create_program, create_signature
from tests.support.http_client import GraphQLClient

LIST = "{ programs(first: 5) { nodes { id name signature { id name } } } }"
"""Each program's signature is a lookup: one `get_many` for the page."""


async def test_requests_leave_nothing_for_the_garbage_collector(client: GraphQLClient) -> None:
    await create_program(client)  # whatever is made once (caches, pools) is made now
    await client.data(LIST)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection frees is kept in gc.garbage instead
    try:
        await create_signature(client)
        await client.data(LIST)
        gc.collect()
        left = [
            o
            for o in gc.garbage
            if isinstance(o, ServiceExecutionContext | Context | BindParameter)
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert left == []


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def add(self, amount: int) -> int:
        self.calls += amount
        return self.calls


def test_the_helpers_call_through_while_the_execution_lives() -> None:
    counter = _Counter()
    add = _WeaklyBound(counter.add)

    assert add(2) == 2
    assert add(amount=3) == 5
    del counter
    gc.collect()
    with pytest.raises(ReferenceError, match="has ended"):
        add(1)
