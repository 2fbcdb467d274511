"""`DSPEX_PRODUCTION=true`: one switch for a public deployment turns GraphiQL and introspection
without a credential off; an explicit `DSPEX_GRAPHQL_GRAPHIQL=true` still brings GraphiQL back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from dspex_gql.config import GraphQLSettings, Settings
from tests.support.app import make_settings
from tests.support.http_client import GraphQLClient
from tests.support.processes import Server, clean_env

INTROSPECTION = "{ __schema { types { name } } }"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="class")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `DSPEX_PRODUCTION=true dspex-gql serve` for the class: starting one takes seconds."""
    server = Server(tmp_path_factory.mktemp("production"), clean_env(DSPEX_PRODUCTION="true"))
    server.wait_ready()
    yield server
    server.stop()


class TestProduction:
    def test_serves_no_graphiql(self, production: Server) -> None:
        page = httpx.get(f"{production.url}/graphql", headers=HTML)
        asset = httpx.get(f"{production.url}/graphql/assets/graphiql.min.js")

        assert page.status_code == 404
        assert "graphiql" not in page.text.lower()
        assert asset.status_code == 404

    async def test_introspection_needs_a_credential(self, production: Server) -> None:
        anonymous = await production.post(INTROSPECTION, None)
        admin = await production.post(INTROSPECTION, production.printed_keys()[0])

        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert anonymous["data"] is None
        assert "Query" in {t["name"] for t in admin["data"]["__schema"]["types"]}


class TestGraphiQLExplicitlyOnInProduction:
    @pytest.fixture
    def settings(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
        monkeypatch.setenv("DSPEX_GRAPHQL_GRAPHIQL", "true")
        return make_settings(database_url, production=True, graphql=GraphQLSettings())

    async def test_serves_graphiql_but_still_no_anonymous_introspection(
        self, client: GraphQLClient
    ) -> None:
        page = await client.http.get("/graphql", headers=HTML)
        asset = await client.http.get("/graphql/assets/graphiql.min.js")
        anonymous = await client.acting_as(None).errors(INTROSPECTION)

        assert page.status_code == 200
        assert asset.status_code == 200
        assert anonymous[0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestProductionSettings:
    def test_off_by_default(self) -> None:
        settings = Settings()

        assert settings.production is False
        assert settings.graphql.graphiql is True
        assert settings.auth.public_introspection is True

    def test_explicit_switches_win_both_ways(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DSPEX_PRODUCTION", "true")
        monkeypatch.setenv("DSPEX_AUTH_PUBLIC_INTROSPECTION", "true")

        settings = Settings()

        assert settings.graphql.graphiql is False
        assert settings.auth.public_introspection is True
