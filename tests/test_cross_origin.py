"""Browser pages on another origin: `DSPEX_CORS_ORIGINS` lets the listed ones call the API
(CORS) and open its websocket; every other origin is refused, as with no setting at all."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from pydantic import ValidationError
from websockets.exceptions import InvalidStatus

from dspex_gql.config import CorsSettings, Settings
from tests.support.http_client import GraphQLClient
from tests.support.processes import Server, clean_env
from tests.support.websocket_client import Socket

APP = "https://app.example.com"
OTHER = "https://evil.example.net"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


@pytest.fixture(scope="class")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `dspex-gql serve` for the class that lets two origins in, as an operator sets it."""
    env = clean_env(DSPEX_CORS_ORIGINS=f"{APP}, http://localhost:5173")
    started = Server(tmp_path_factory.mktemp("cors"), env)
    started.wait_ready()
    yield started
    started.stop()


def preflight(server: Server, origin: str) -> httpx.Response:
    return httpx.options(f"{server.url}/graphql", headers={"origin": origin, **PREFLIGHT})


def post(server: Server, origin: str) -> httpx.Response:
    headers = {"origin": origin, "authorization": f"Bearer {server.printed_keys()[0]}"}
    return httpx.post(f"{server.url}/graphql", json={"query": "{ me { email } }"}, headers=headers)


def websocket(server: Server, origin: str) -> Socket:
    """The admin's graphql-transport-ws connection from a page on `origin`."""
    return Socket(server.websocket_url, server.printed_keys()[0], headers={"origin": origin})


class TestAnAllowedOrigin:
    def test_a_preflight_is_answered(self, server: Server) -> None:
        response = preflight(server, APP)

        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == APP
        assert "POST" in response.headers["access-control-allow-methods"]
        allowed_headers = response.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type"} <= set(allowed_headers.replace(" ", "").split(","))

    def test_a_request_may_read_the_answer_and_its_request_id(self, server: Server) -> None:
        response = post(server, APP)

        assert response.json()["data"]["me"]["email"] == "admin@localhost"
        assert response.headers["access-control-allow-origin"] == APP
        assert response.headers["access-control-expose-headers"].lower() == "x-request-id"
        assert response.headers["x-request-id"]

    async def test_a_websocket_is_accepted_and_runs_an_operation(self, server: Server) -> None:
        async with websocket(server, APP) as socket:
            message = await socket.next_of(await socket.start("{ me { email } }"))

        assert message["type"] == "next"
        assert message["payload"]["data"] == {"me": {"email": "admin@localhost"}}


class TestARefusedOrigin:
    def test_a_preflight_gets_no_permission(self, server: Server) -> None:
        response = preflight(server, OTHER)

        assert "access-control-allow-origin" not in response.headers

    def test_a_request_gets_no_permission_to_read_the_answer(self, server: Server) -> None:
        response = post(server, OTHER)

        assert "access-control-allow-origin" not in response.headers

    async def test_a_websocket_is_refused(self, server: Server) -> None:
        with pytest.raises(InvalidStatus) as refused:
            await websocket(server, OTHER).open()

        assert refused.value.response.status_code == 403


class TestTheDefault:
    async def test_no_origin_but_the_services_own(self, client: GraphQLClient) -> None:
        response = await client.http.options("/graphql", headers={"origin": APP, **PREFLIGHT})

        assert response.status_code == 405
        assert "access-control-allow-origin" not in response.headers


class TestTheSetting:
    def test_a_comma_separated_list_as_browsers_spell_origins(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DSPEX_CORS_ORIGINS", "HTTPS://App.Example.com:443/, http://[::1]:8080")

        assert Settings().cors.origins == [APP, "http://[::1]:8080"]

    @pytest.mark.parametrize(
        "origin", ["https://app.example.com/path", "app.example.com", "ftp://app.example.com"]
    )
    def test_anything_but_an_origin_is_refused(self, origin: str) -> None:
        with pytest.raises(ValidationError, match="is not an origin"):
            CorsSettings(origins=[origin])
