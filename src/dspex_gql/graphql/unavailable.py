"""How a failing dependency (the database, the pub/sub backend) reaches clients: a GraphQL error
with `extensions.code = "SERVICE_UNAVAILABLE"` and `retryable: true` — never a masked
"Unexpected error", never a traceback per request in the log."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from dspex_gql.db.errors import database_unavailable
from dspex_gql.graphql.errors import SERVICE_UNAVAILABLE
from dspex_gql.pubsub import HubUnavailable

DATABASE = "The database is not answering; try again shortly"
PUBSUB = "Live updates are unavailable right now; subscribe again shortly"


def unavailability(error: BaseException) -> str | None:
    """What to tell a client when `error` means a dependency is unavailable; else None."""
    if isinstance(error, HubUnavailable):
        return PUBSUB
    if database_unavailable(error):
        return DATABASE
    return None


def unavailable_extensions() -> dict[str, Any]:
    return {"code": SERVICE_UNAVAILABLE, "retryable": True}


def service_unavailable(error: BaseException) -> GraphQLError:
    message = unavailability(error) or DATABASE
    return GraphQLError(message, extensions=unavailable_extensions())
