"""A small OpenAI-compatible chat-completions server on loopback: the only LM the tests talk to.

It answers in DSPy's ChatAdapter format (or JSON when a `response_format` is asked for), with
usage numbers, configurable latency and scripted failures, in a thread of its own:

    with FakeLM(knowledge={"2+2?": {"answer": "4"}}) as lm:
        dspy.LM("openai/fake", api_base=lm.base_url, api_key="k")
        lm.fail_next(429)             # the next request gets a rate-limit reply

It is a *scripted learner*: it knows the answers in `knowledge` (keyed by the value of the first
input field) but gives them only when the prompt carries a demonstration (a previous
user/assistant turn, which is what a few-shot optimizer adds) or, with `learner=False`, always.
Anything it does not know gets a typed placeholder ("I do not know", 0.0, false, [] …).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

UNKNOWN_ANSWER = "I do not know"
_FIELD = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", re.S)
_RESPOND_WITH = "\n\nRespond with the corresponding output fields"
_OUTPUT_LINE = re.compile(r"^\d+\. `(\w+)` \((.+?)\)", re.M)


@dataclass(frozen=True)
class Scripted:
    """One scripted reply: an HTTP error, a malformed answer, or a long wait."""

    status: int = 200
    content: str | None = None
    delay_seconds: float = 0.0


@dataclass
class FakeLMStats:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    abandoned: int = 0
    """Requests whose client hung up while the server was still waiting to answer."""
    bodies: list[dict[str, Any]] = field(default_factory=list)


class FakeLM:
    def __init__(
        self,
        knowledge: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        learner: bool = True,
        latency_ms: float = 0.0,
        api_key: str | None = None,
        keep_bodies: bool = True,
    ) -> None:
        self.knowledge = dict(knowledge or {})
        self.learner = learner
        self.latency_ms = latency_ms
        self.api_key = api_key
        """When set, requests without `Authorization: Bearer <api_key>` get 401."""
        self.keep_bodies = keep_bodies
        self.stats = FakeLMStats()
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- control ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, status: int, times: int = 1) -> None:
        self._push(Scripted(status=status), times)

    def malformed_next(
        self, times: int = 1, content: str = "Sorry, I can't follow that format."
    ) -> None:
        self._push(Scripted(content=content), times)

    def hang_next(self, seconds: float = 60.0, times: int = 1) -> None:
        self._push(Scripted(delay_seconds=seconds), times)

    async def until(
        self, holds: Callable[[FakeLMStats], bool], within_seconds: float = 10.0
    ) -> None:
        """Wait until `holds(stats)` is true (it is checked each time a request starts or ends):
        `await fake.until(lambda stats: stats.in_flight > 0)`."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: holds(self.stats), within_seconds)

        if not await asyncio.to_thread(wait):
            raise TimeoutError(f"the fake LM did not reach the expected state: {self.stats}")

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _push(self, reply: Scripted, times: int) -> None:
        with self._lock:
            self._script.extend([reply] * times)

    def _next_scripted(self) -> Scripted | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeLM:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", backlog=1024)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-lm"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake LM server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeLM:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------

    def _app(self) -> Starlette:
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/stats", self._stats, methods=["GET", "DELETE"]),
        ]
        return Starlette(routes=routes)

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _stats(self, request: Request) -> Response:
        """The counters, for a client in another process; DELETE resets them."""
        stats = self.stats
        if request.method == "DELETE":
            stats.requests = stats.max_in_flight = stats.abandoned = 0
        shown = ("requests", "in_flight", "max_in_flight", "abandoned")
        return JSONResponse({name: getattr(stats, name) for name in shown})

    async def _chat(self, request: Request) -> Response:
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        self._notify()
        try:
            return await self._reply(request)
        finally:
            stats.in_flight -= 1
            self._notify()

    async def _reply(self, request: Request) -> Response:
        expected = f"Bearer {self.api_key}"
        if self.api_key is not None and request.headers.get("authorization") != expected:
            return _error(401, "Incorrect API key provided", "invalid_api_key")
        body = await request.json()
        if self.keep_bodies:
            self.stats.bodies.append(body)
        scripted = self._next_scripted() or Scripted()
        delay = scripted.delay_seconds + self.latency_ms / 1000
        if delay and await self._client_left_during(request, delay):
            self.stats.abandoned += 1
            return Response(status_code=499)
        if scripted.status != 200:
            return _error(scripted.status, f"scripted failure {scripted.status}", "scripted")
        content = scripted.content
        if content is None:
            content = self.answer(body["messages"], json_mode="response_format" in body)
        return JSONResponse(_completion(body, content))

    async def _client_left_during(self, request: Request, seconds: float) -> bool:
        """Wait `seconds`, or less if the client disconnects (then True)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.02))
            if seconds > 0.5 and await request.is_disconnected():
                return True
        return False

    # -- answering -------------------------------------------------------------------------

    def answer(self, messages: list[dict[str, Any]], *, json_mode: bool = False) -> str:
        system = _text(messages[0]) if messages and messages[0]["role"] == "system" else ""
        outputs = _OUTPUT_LINE.findall(system.split("Your output fields are:")[-1])
        request = _text(messages[-1]).split(_RESPOND_WITH)[0]
        inputs = dict(_FIELD.findall(request))
        values = self.values(outputs, inputs, demonstrated=_has_demonstration(messages))
        if json_mode:
            return json.dumps(values)
        parts = [f"[[ ## {name} ## ]]\n{_render(value)}" for name, value in values.items()]
        return "\n\n".join([*parts, "[[ ## completed ## ]]"])

    def values(
        self, outputs: list[tuple[str, str]], inputs: Mapping[str, str], *, demonstrated: bool
    ) -> dict[str, Any]:
        first = next(iter(inputs.values()), "").strip()
        known = self.knowledge.get(first, {})
        answers = known if demonstrated or not self.learner else {}
        return {
            name: answers[name] if name in answers else _placeholder(name, kind)
            for name, kind in outputs
        }


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _has_demonstration(messages: list[dict[str, Any]]) -> bool:
    return any(message["role"] == "assistant" for message in messages[:-1])


def _placeholder(name: str, kind: str) -> Any:
    kind = kind.strip()
    literal = re.match(r"Literal\[(.*)\]", kind)
    if literal:
        choices = [choice.strip().strip("'\"") for choice in literal.group(1).split(",")]
        return "finish" if "finish" in choices else choices[0]
    if name == "reasoning" or name.endswith("thought"):
        return "Thinking it through."
    scalars = {"float": 0.0, "int": 0, "bool": False}
    if kind in scalars:
        return scalars[kind]
    if kind.startswith(("list", "List")):
        return []
    if kind.startswith(("dict", "Dict")):
        return {}
    return UNKNOWN_ANSWER


def _render(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _completion(body: Mapping[str, Any], content: str) -> dict[str, Any]:
    prompt = sum(len(_text(message)) for message in body.get("messages", []))
    prompt_tokens, completion_tokens = max(1, prompt // 4), max(1, len(content) // 4)
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(status: int, message: str, code: str) -> Response:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status)


def main() -> None:
    """`python -m tests.support.fake_lm [--latency-ms 50]`: serve until killed, in a process of
    its own (benchmarks keep its CPU out of the measured process); prints the base URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeLM(latency_ms=args.latency_ms, keep_bodies=False).start()
    print(fake.base_url, flush=True)
    assert fake._thread is not None
    fake._thread.join()


if __name__ == "__main__":
    main()
