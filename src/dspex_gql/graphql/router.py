"""The GraphQL endpoint: HTTP requests authenticate from their Authorization header, websockets
from their connection_init payload (a refusal closes the socket with 4403). Websockets from a page
on another origin need that origin in `DSPEX_CORS_ORIGINS`; GraphiQL's page comes from `ide`.
Malformed requests are refused with 400 and a GraphQL-shaped body (`request_bodies`), malformed
websocket messages with close code 4400 (`websocket_protocols`)."""

from __future__ import annotations

from typing import Any, overload

from cross_web import HTTPException
from fastapi import Request, Response, WebSocket
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from dspex_gql.accounts.authentication import Unauthenticated
from dspex_gql.config import Settings
from dspex_gql.db.errors import database_unavailable
from dspex_gql.graphql import request_bodies
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.ide import ASSETS_PATH, graphiql_page
from dspex_gql.graphql.schema import Schema, build_schema
from dspex_gql.graphql.shared_subscriptions import SharedSubscriptions
from dspex_gql.graphql.websocket_protocols import LegacyWSHandler, TransportWSHandler
from dspex_gql.identity import Origin
from dspex_gql.runtime import Runtime

HTTP_METHODS = ("GET", "POST")


class Router(GraphQLRouter[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: Schema, **options: Any) -> None:
        super().__init__(schema, **options)
        self.shared_subscriptions = SharedSubscriptions(schema)

    @overload
    async def run(
        self, request: Request, context: Context = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            return request_bodies.refusal(error, request.scope.get("state", {}).get("request_id"))

    async def get_sub_response(self, request: Request) -> Response:
        """The context's: what the operation sets a status and headers on (a 503 when the
        database cannot authenticate it), as on FastAPI's injected `Response`."""
        response: Response = request.state.sub_response
        return response

    def decode_json(self, data: str | bytes) -> object:
        return request_bodies.decode_json(data)

    def parse_json(self, data: str | bytes) -> dict[str, object]:
        return request_bodies.json_object(data)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        assets_url = request.url.path.rstrip("/") + ASSETS_PATH
        return HTMLResponse(graphiql_page(assets_url))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Refuse bad credentials at once; while the database is unavailable, accept the
        connection and authenticate at its first operation instead."""
        context.credential = _ws_authorization(context)
        try:
            actor = await context.runtime.authenticator.authenticate(
                context.credential, context.origin
            )
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        except Exception as error:
            if not database_unavailable(error):
                raise
        else:
            context.sign_in_as(actor)
        unset: UnsetType = UNSET
        return unset


def _ws_authorization(context: Context) -> str | None:
    params = context.connection_params or {}
    authorization = params.get("authorization") or params.get("Authorization")
    if not isinstance(authorization, str) and context.request is not None:
        authorization = context.request.headers.get("authorization")
    return authorization if isinstance(authorization, str) else None


class GraphQLEndpoint:
    """The GraphQL endpoint served from the middleware stack, past FastAPI's routing, dependency
    injection and exception layers: for `scope_type` "http" (GET and POST; other methods go on
    to FastAPI, which refuses them) each request passes fewer layers (5-10 % of the CPU of
    `program(id)`, in-process A/B), and for "websocket" a socket holds fewer layers for its
    whole life (measured with tracemalloc: ~11 KiB a socket of 42) and passes each message
    through fewer. The same `Router.run` serves both, with the context FastAPI would have made
    (Strawberry's own FastAPI routes for GET and POST are still registered, and never reached).
    `dspex-gql serve` serves the websockets lower still, below ASGI (`websocket_server.py`);
    this route serves them under any other ASGI server.
    """

    def __init__(self, app: ASGIApp, path: str, router: Router, scope_type: str) -> None:
        self.app = app
        self.path = path
        self.router = router
        self.scope_type = scope_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != self.scope_type or scope["path"] != self.path:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._serve_websocket(WebSocket(scope, receive, send))
        elif scope["method"] in HTTP_METHODS:
            response = await self._serve_request(Request(scope, receive, send))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve_websocket(self, websocket: WebSocket) -> None:
        context = await context_for(websocket)
        context.request = websocket
        await self.router.run(websocket, context, root_value=None)

    async def _serve_request(self, request: Request) -> Response:
        context = await context_for(request)
        context.request = request
        context.response = request.state.sub_response = _sub_response()
        return await self.router.run(request, context, root_value=None)


def _sub_response() -> Response:
    """Without a status or a body of its own, as FastAPI injects it."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


def graphql_router(settings: Settings) -> Router:
    return Router(
        build_schema(settings.graphql),
        context_getter=context_for,
        graphql_ide="graphiql" if settings.graphql.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        allowed_origins=settings.cors.origins,
    )


async def context_for(connection: HTTPConnection) -> Context:
    runtime: Runtime = connection.app.state.runtime
    origin = Origin(
        request_id=connection.scope.get("state", {}).get("request_id") or Origin().request_id,
        ip_address=connection.client.host if connection.client else None,
        user_agent=connection.headers.get("user-agent"),
    )
    if connection.scope["type"] == "websocket":
        return Context(runtime, origin, websocket=True)
    return Context(runtime, origin, credential=connection.headers.get("authorization"))
