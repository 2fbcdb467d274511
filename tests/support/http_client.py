"""The GraphQL-over-HTTP client of the tests: real HTTP requests, through the ASGI app in the
test's event loop or to a served process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI

CLIENT_ADDRESS = ("10.0.0.7", 41000)
"""Where requests through the ASGI app come from, as the service sees it."""


class GraphQLError(AssertionError):
    pass


class GraphQLClient:
    """Speaks for one credential: `Authorization: Bearer <credential>` on every request.

    async with GraphQLClient.for_app(app, key) as client:           # in process
    async with GraphQLClient.for_url(server.url, key) as client:    # a served process
        data = await client.data("{ me { id } }")
    """

    def __init__(self, http: httpx.AsyncClient, credential: str | None = None) -> None:
        self.http = http
        self.credential = credential

    @classmethod
    @asynccontextmanager
    async def for_app(
        cls,
        app: FastAPI,
        credential: str | None = None,
        *,
        address: tuple[str, int] = CLIENT_ADDRESS,
    ) -> AsyncIterator[GraphQLClient]:
        transport = httpx.ASGITransport(app=app, client=address)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield cls(http, credential)

    @classmethod
    @asynccontextmanager
    async def for_url(cls, url: str, credential: str | None = None) -> AsyncIterator[GraphQLClient]:
        async with httpx.AsyncClient(base_url=url) as http:
            yield cls(http, credential)

    def acting_as(self, credential: str | None) -> GraphQLClient:
        """Another client on the same app, with another credential (None: none at all)."""
        return GraphQLClient(self.http, credential)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.credential}"} if self.credential else {}

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole response: `data` and, when something failed, `errors`."""
        payload = {"query": query, "variables": variables}
        response = await self.http.post("/graphql", json=payload, headers=self.headers)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.execute(query, **variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    async def errors(self, query: str, **variables: Any) -> list[dict[str, Any]]:
        """The top-level errors of a response that must have some."""
        body = await self.execute(query, **variables)
        assert body.get("errors"), f"expected errors, got {body}"
        errors: list[dict[str, Any]] = body["errors"]
        return errors
