"""Where the time of one request goes, measured in-process on the server side.

Each step is timed alone (median of `repeats`), from the inside out, on the service's own runtime
(`create_app(...)` with its lifespan running):

    authenticate      `Authenticator.authenticate("Bearer <API key>")`: what the endpoint does
                      for every HTTP request before the operation runs (API key + owner, one
                      indexed query, secret hash compared; `lastUsedAt` written once a minute)
    graphql_validate  graphql-core `validate()` of the document, specified rules only (Strawberry
                      runs it on every request, plus its depth/alias/oneOf rules)
    service           the service call behind the resolver (e.g. ProgramService.get)
    graphql_execute   `schema.execute()` with an already authenticated actor in the context:
                      parse, validate, the Authentication extension's check (root fields, rate
                      limiter), resolvers, completing every field
    json_encode       `json.dumps` of the result, as Strawberry's HTTP view does
    asgi              the whole FastAPI app called in-process (no socket), authentication included
    http              uvicorn in this process and loop, one keep-alive loopback connection

Every request carries `Authorization: Bearer <api_key>`, the key of the run's organization admin;
the actor behind `service` and `graphql_execute` is the one that key authenticates as.

For `programs(first: 1000)` also the layers under the resolver (SQL with all columns or only the 5
asked for, ORM page, cursors, Strawberry objects), an attribution of the HTTP median to them, and
a cProfile of the in-process ASGI path, own time grouped by package (C functions are charged to
the package that called them), to say which library spends the CPU.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from graphql import parse, validate
from sqlalchemy import select
from starlette.types import Message

from bench import httpclient
from bench.gcstats import GCStats
from bench.raw_app import PROGRAMS
from bench.servers import serving
from dspex_gql.db.listing import PageRequest
from dspex_gql.executions.service import StartExecution
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.pagination import Connection
from dspex_gql.graphql.schema import build_schema
from dspex_gql.identity import Actor, Origin
from dspex_gql.programs.models import ProgramStatus
from dspex_gql.programs.schema import Program
from dspex_gql.runtime import Runtime, Services

Step = Callable[[], Awaitable[object]]
WAITING = "event loop, waiting for the driver's thread or socket"
"""cProfile charges the uvloop's C run loop (epoll waits included) to the coroutine driving it."""

GROUPS = (
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("sqlalchemy/", "sqlalchemy"),
    ("aiosqlite/", "aiosqlite"),
    ("asyncpg/", "asyncpg"),
    ("starlette/", "starlette+fastapi"),
    ("fastapi/", "starlette+fastapi"),
    ("dspex_gql/", "dspex_gql"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "asyncio"),
    ("/uuid.py", "uuid"),
    ("/base64.py", "base64 (cursors)"),
    ("/enum.py", "enum"),
    ("<string>", "generated constructors (namedtuples: graphql-core Path, ResolveInfo)"),
)


async def median_ms(step: Step, repeats: int, settle: Step | None = None) -> float:
    """Median wall time of `step`; `settle` runs untimed after each call (e.g. wait for idle)."""
    samples = []
    for index in range(3 + repeats):
        started = time.perf_counter()
        await step()
        if index >= 3:
            samples.append((time.perf_counter() - started) * 1000)
        if settle is not None:
            await settle()
    return round(statistics.median(samples), 3)


def asgi_post(
    app: FastAPI, path: str, body: bytes, api_key: str
) -> Callable[[], Awaitable[list[Message]]]:
    """One in-process POST through the whole ASGI app: `await call()` → the messages it sent."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {api_key}".encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def call() -> list[Message]:
        sent: list[Message] = []
        delivered = asyncio.Event()

        async def receive() -> Message:
            if delivered.is_set():
                await asyncio.Event().wait()  # the client never disconnects
            delivered.set()
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(dict(scope), receive, send)
        return sent

    return call


async def http_median(
    app: FastAPI, body: bytes, api_key: str, repeats: int, settle: Step | None
) -> float:
    async with serving(app, lifespan="off") as port:
        connection = await httpclient.Connection.open(port)
        try:
            request = httpclient.request_bytes("POST", "/graphql", body, api_key=api_key)
            return await median_ms(lambda: connection.send(request), repeats, settle)
        finally:
            await connection.close()


async def authenticated(app: FastAPI, api_key: str) -> Actor:
    """The actor `api_key` authenticates as, as the GraphQL endpoint finds it."""
    runtime: Runtime = app.state.runtime
    return await runtime.authenticator.authenticate(f"Bearer {api_key}", Origin())


async def graphql_steps(
    app: FastAPI,
    query: str,
    variables: dict[str, Any],
    api_key: str,
    repeats: int,
    service: Step,
    settle: Step | None = None,
) -> dict[str, float]:
    """The steps every GraphQL request goes through, with `service` the call behind it."""
    runtime: Runtime = app.state.runtime
    schema = build_schema(runtime.settings.graphql)
    document = parse(query)
    actor = await authenticated(app, api_key)
    authorization, origin = f"Bearer {api_key}", Origin()

    async def authentication() -> object:
        return await runtime.authenticator.authenticate(authorization, origin)

    async def validation() -> object:
        return validate(schema._schema, document)

    async def execute() -> dict[str, Any]:
        context = Context(runtime, actor.origin)
        context.sign_in_as(actor)  # authentication is measured on its own, above
        result = await schema.execute(query, variable_values=variables, context_value=context)
        if result.errors:
            raise RuntimeError(result.errors)
        return {"data": result.data}

    encoded = await execute()
    if settle is not None:
        await settle()

    async def json_encode() -> object:
        return json.dumps(encoded, separators=(",", ":"))

    body = json.dumps({"query": query, "variables": variables}).encode()
    return {
        "authenticate": await median_ms(authentication, repeats),
        "graphql_validate": await median_ms(validation, repeats),
        "service": await median_ms(service, repeats, settle),
        "graphql_execute": await median_ms(execute, repeats, settle),
        "json_encode": await median_ms(json_encode, repeats),
        "asgi": await median_ms(asgi_post(app, "/graphql", body, api_key), repeats, settle),
        "http": await http_median(app, body, api_key, repeats, settle),
    }


async def program_get(
    app: FastAPI, query: str, variables: dict[str, Any], api_key: str, repeats: int
) -> dict[str, Any]:
    programs = Services(app.state.runtime, await authenticated(app, api_key)).programs
    id = uuid.UUID(variables["id"])
    steps = await graphql_steps(app, query, variables, api_key, repeats, lambda: programs.get(id))
    return {"repeats": repeats, "service_call": "ProgramService.get", "steps_ms": steps}


async def execute_program(
    app: FastAPI, query: str, variables: dict[str, Any], api_key: str, repeats: int, settle: Step
) -> dict[str, Any]:
    executions = Services(app.state.runtime, await authenticated(app, api_key)).executions
    given = variables["input"]
    start = StartExecution(program_id=uuid.UUID(given["programId"]), inputs=given["inputs"])
    steps = await graphql_steps(
        app, query, variables, api_key, repeats, lambda: executions.start(start), settle
    )
    return {"repeats": repeats, "service_call": "ExecutionService.start", "steps_ms": steps}


async def programs_list(
    app: FastAPI,
    query: str,
    variables: dict[str, Any],
    api_key: str,
    repeats: int,
    subprocess_median: float,
) -> dict[str, Any]:
    runtime: Runtime = app.state.runtime
    actor = await authenticated(app, api_key)
    programs = Services(runtime, actor).programs
    first = int(variables["first"])
    request = PageRequest(first=first)
    page = await programs.page(request)

    def sql_fetch(*columns: Any) -> Step:
        statement = (
            select(*columns)
            .where(
                PROGRAMS.c.organization_id == actor.organization_id,
                PROGRAMS.c.status != ProgramStatus.ARCHIVED,
            )
            .order_by(PROGRAMS.c.created_at.desc(), PROGRAMS.c.id.desc())
            .limit(first + 1)
        )

        async def fetch() -> object:
            async with runtime.engine.connect() as connection:
                return (await connection.execute(statement)).all()

        return fetch

    async def no_count() -> int:
        return 0

    async def graphql_objects() -> object:
        return Connection.of(page, Program.of, no_count)

    needed = (PROGRAMS.c[name] for name in ("id", "name", "status", "type", "created_at"))
    steps = {
        "sql_fetch": await median_ms(sql_fetch(PROGRAMS), repeats),
        "sql_fetch_5_cols": await median_ms(sql_fetch(*needed), repeats),
        "graphql_objects": await median_ms(graphql_objects, repeats),
    }
    steps |= await graphql_steps(
        app, query, variables, api_key, repeats, lambda: programs.page(request)
    )
    body = json.dumps({"query": query, "variables": variables}).encode()
    return {
        "repeats": repeats,
        "service_call": "ProgramService.page (SQL + ORM objects + cursors)",
        "http_subprocess_median_ms": subprocess_median,
        "steps_ms": steps,
        "attribution_ms": attribute(steps),
        "cprofile": await profile(asgi_post(app, "/graphql", body, api_key), repeats),
    }


def attribute(steps: dict[str, float]) -> dict[str, float]:
    """Split the in-process HTTP median into parts that add up to it (inside-out differences)."""
    page = steps["service"]
    rest_of_execution = steps["graphql_execute"] - page - steps["graphql_objects"]
    parts = {
        "sql_and_driver": steps["sql_fetch"],
        "orm_objects_and_cursors": page - steps["sql_fetch"],
        "building_graphql_objects": steps["graphql_objects"],
        "graphql_parse_validate_resolve_complete": rest_of_execution,
        "json_encode": steps["json_encode"],
        "authentication": steps["authenticate"],
        "http_view_and_asgi_stack": (
            steps["asgi"] - steps["graphql_execute"] - steps["json_encode"] - steps["authenticate"]
        ),
        "network_and_uvicorn": steps["http"] - steps["asgi"],
    }
    return {name: round(value, 3) for name, value in parts.items()}


async def profile(call: Step, repeats: int) -> dict[str, Any]:
    """Main-thread CPU only (aiosqlite's thread and the database server are not seen)."""
    profiler = cProfile.Profile()
    gc_stats = GCStats().attach()
    profiler.enable()
    for _ in range(repeats):
        await call()
    profiler.disable()
    gc_stats.detach()
    stats = pstats.Stats(profiler)
    return {
        "note": "GC pauses are charged to whatever allocated when the collector ran",
        "gc_pause_share_while_profiling": gc_stats.figures()["share_of_window"],
        "own_time_share_by_package": own_time_by_group(stats),
        "top_functions_by_own_time": top_functions(stats, repeats),
    }


def top_functions(stats: pstats.Stats, repeats: int, count: int = 12) -> list[dict[str, Any]]:
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    everything = sum(entry[2] for entry in entries.values()) or 1.0
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:count]
    return [
        {
            "function": _function_name(filename, line, name),
            "calls_per_request": round(entry[1] / repeats, 1),
            "own_time_share": round(entry[2] / everything, 3),
        }
        for (filename, line, name), entry in ranked
    ]


def _function_name(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name
    short = _short(filename)
    return short if short == WAITING else f"{short}:{line}({name})"


def _short(filename: str) -> str:
    if filename == __file__:
        return WAITING
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _group(filename: str, function: str) -> str:
    if filename == __file__:
        return WAITING
    if filename.endswith(("json/decoder.py", "json/scanner.py")) or function == "loads":
        return "json decode (JSON columns)"
    if filename.endswith("json/encoder.py") or function == "dumps":
        return "json encode (response, cursors)"
    for marker, name in GROUPS:
        if marker in filename:
            return name
    return "other"


def own_time_by_group(stats: pstats.Stats) -> dict[str, float]:
    """Share of own (exclusive) time per package; a C function's time goes to its callers'."""
    totals: dict[str, float] = {}
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, _cum, callers) in entries.items():
        if filename != "~" or not callers:
            group = _group(filename, function)
            totals[group] = totals.get(group, 0.0) + own
            continue
        # per caller: (calls, primitive calls, own time, cumulative time) when called from there
        weight = 2 if sum(entry[2] for entry in callers.values()) > 0 else 0
        whole = sum(entry[weight] for entry in callers.values()) or 1
        for (caller_file, _l, caller_function), entry in callers.items():
            group = _group(caller_file, caller_function) if caller_file != "~" else "other"
            totals[group] = totals.get(group, 0.0) + own * entry[weight] / whole
    everything = sum(totals.values()) or 1.0
    ordered = sorted(totals.items(), key=lambda item: -item[1])
    return {
        name: round(value / everything, 3) for name, value in ordered if value / everything >= 0.005
    }
