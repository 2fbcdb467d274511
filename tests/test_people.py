from __future__ import annotations

import pytest

from tests.support.http_client import GraphQLClient
from tests.support.people import member


@pytest.mark.parametrize("role", ["ADMIN", "USER", "VIEWER"])
async def test_members_act_with_their_own_token_and_key(client: GraphQLClient, role: str) -> None:
    someone = await member(client, role)

    by_key = await someone.client.data("{ me { id role } }")
    by_token = await client.acting_as(someone.token).data("{ me { id role } }")

    assert by_key["me"] == by_token["me"] == {"id": someone.id, "role": role}
