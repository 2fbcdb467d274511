"""A GraphQL client for tests: real HTTP requests through the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI


class GraphQLError(AssertionError):
    pass


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    @asynccontextmanager
    async def for_app(cls, app: FastAPI) -> AsyncIterator[GraphQLClient]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield cls(http)

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole response: `data` and, when something failed, `errors`."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
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
