"""Malformed requests get HTTP 400 and a GraphQL-shaped JSON body, never a 500:

{"errors": [{"message": "Malformed JSON: it is nested too deeply",
             "extensions": {"code": "BAD_REQUEST", "requestId": "3f2c…"}}]}
"""

from __future__ import annotations

import json

from cross_web import HTTPException
from starlette.responses import Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from dspex_gql.graphql.errors import BAD_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND

CODES = {400: BAD_REQUEST, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}
CLEARER = {
    "Unsupported content type": "Unsupported content type: send Content-Type: application/json",
}
SUBSCRIPTIONS_NEED_A_WEBSOCKET = (
    "Subscriptions need a websocket: connect to this URL with the graphql-transport-ws protocol"
)


class MalformedJSON(json.JSONDecodeError):
    """JSON that `json.loads` cannot take (nested too deep, not UTF-8, a number too long), as the
    JSONDecodeError that Strawberry's websocket reader turns into close code 4400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def decode_json(data: str | bytes) -> object:
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise MalformedJSON(f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise MalformedJSON("it is nested too deeply") from None
    except UnicodeDecodeError:
        raise MalformedJSON("it is not UTF-8") from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise MalformedJSON(str(error)) from None


def json_object(data: str | bytes) -> dict[str, object]:
    """A request body, or a GET request's `variables` or `extensions`: always a JSON object."""
    try:
        decoded = decode_json(data)
    except MalformedJSON as error:
        raise HTTPException(400, f"Malformed JSON: {error}") from None
    if not isinstance(decoded, dict):
        kind = _kind(decoded)
        raise HTTPException(400, f'Expected a JSON object such as {{"query": "..."}}, not {kind}')
    return decoded


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a boolean" if isinstance(value, bool) else "a number"


def refusal(error: HTTPException, request_id: str | None = None) -> Response:
    extensions = {"code": CODES.get(error.status_code, BAD_REQUEST), "requestId": request_id}
    body = {"errors": [{"message": _message(error), "extensions": extensions}]}
    # json.dumps escapes what the message may echo (an operation name with a lone surrogate);
    # JSONResponse would write it raw and fail to encode it.
    text = json.dumps(body, separators=(",", ":"))
    return Response(text, error.status_code, media_type="application/json")


def _message(error: HTTPException) -> str:
    cause = error.__cause__
    if (
        isinstance(cause, InvalidOperationTypeError)
        and cause.operation_type is OperationType.SUBSCRIPTION
    ):
        return SUBSCRIPTIONS_NEED_A_WEBSOCKET
    return CLEARER.get(error.reason, error.reason)
