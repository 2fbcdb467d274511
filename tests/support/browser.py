"""Debian's Chromium, headless, driven over the Chrome DevTools Protocol (CDP) with the
`websockets` package the tests already use: no WebDriver in between, so a test sees every console
message, uncaught exception and browser log entry (CSP violations, failed loads, bad SRI hashes),
and a benchmark sees every byte the page loads.

    async with Browser(tmp_path / "profile") as browser:
        page = await browser.page()
        await page.goto(f"{server.url}/")
        await page.until("document.querySelector('#api-key')")
        await page.screenshot(tmp_path / "sign-in.png")
        assert page.errors == []
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.external_services import installed_program

LAUNCH_SECONDS = 30
WAIT_SECONDS = 30.0
DEVTOOLS_URL = re.compile(rb"DevTools listening on (ws://\S+)")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--remote-debugging-port=0",
    # Every host name but the test server's fails to resolve: the page must need nothing else.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

Event = dict[str, Any]


class BrowserError(AssertionError):
    pass


class Browser:
    """A headless Chromium process and its DevTools connection, for one `async with` block."""

    def __init__(self, profile: Path, width: int = 1440, height: int = 1000) -> None:
        self.profile = profile
        self.size = (width, height)
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._listeners: dict[str, list[Callable[[Event], None]]] = {}

    async def __aenter__(self) -> Browser:
        chromium = installed_program("chromium", "apt-get install -y chromium")
        width, height = self.size
        self.process = await asyncio.create_subprocess_exec(
            chromium,
            *FLAGS,
            f"--window-size={width},{height}",
            f"--user-data-dir={self.profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        url = await asyncio.wait_for(self._devtools_url(), LAUNCH_SECONDS)
        self._stderr = asyncio.create_task(self._drain_stderr())
        self.connection = await websockets.connect(url, max_size=None)
        self._reader = asyncio.create_task(self._read(self.connection))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await self.connection.close()
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        self._stderr.cancel()

    async def page(self) -> Page:
        """A new tab, with its console, exceptions and log reported to the `Page`."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        await page.start()
        return page

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        """Call a CDP method; its result, or BrowserError."""
        id = next(self._ids)
        message: dict[str, Any] = {"id": id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        reply = self._waiting[id] = asyncio.get_running_loop().create_future()
        await self.connection.send(json.dumps(message))
        return await asyncio.wait_for(reply, 2 * WAIT_SECONDS)  # `Page.until` fails first

    def listen(self, session: str, handler: Callable[[Event], None]) -> None:
        self._listeners.setdefault(session, []).append(handler)

    async def _devtools_url(self) -> str:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            if found := DEVTOOLS_URL.search(line):
                return found.group(1).decode()
        raise BrowserError("Chromium ended before it listened for DevTools")

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        async for _ in self.process.stderr:
            pass

    async def _read(self, connection: ClientConnection) -> None:
        async for raw in connection:
            message = json.loads(raw)
            if "id" in message:
                reply = self._waiting.pop(message["id"])
                if "error" in message:
                    reply.set_exception(BrowserError(f"{message['error']}"))
                else:
                    reply.set_result(message.get("result", {}))
            for handler in self._listeners.get(message.get("sessionId", ""), []):
                handler(message)


class Page:
    """One tab: navigate, evaluate JavaScript, wait for a condition, take screenshots. Console
    errors, uncaught exceptions and error log entries are collected in `errors`."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.events: list[Event] = []
        self._loaded = asyncio.Event()
        browser.listen(session, self._on_event)

    async def start(self) -> None:
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.send(f"{domain}.enable")
        await self.send("Page.setLifecycleEventsEnabled", {"enabled": True})

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self._loaded.clear()
        navigated = await self.send("Page.navigate", {"url": url})
        if navigated.get("errorText"):
            raise BrowserError(f"{url}: {navigated['errorText']}")
        await asyncio.wait_for(self._loaded.wait(), WAIT_SECONDS)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (a promise is awaited)."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:200]}: {text}")
        return result["result"].get("value")

    async def until(self, condition: str, seconds: float = WAIT_SECONDS) -> Any:
        """The truthy value of the JavaScript expression `condition`, once it has one: checked
        on every change of the document (a MutationObserver), so there is nothing to poll."""
        script = f"""new Promise((resolve, reject) => {{
          const check = () => {{
            let value;
            try {{ value = ({condition}); }} catch (error) {{ return false; }}
            if (value) {{ observer.disconnect(); clearTimeout(timer); resolve(value); }}
            return value;
          }};
          const observer = new MutationObserver(check);
          const timer = setTimeout(() => {{
            observer.disconnect();
            const shown = document.body?.innerText.slice(0, 600) ?? "";
            const because = `still false after {seconds} s: ${{{json.dumps(condition)}}}`;
            reject(new Error(`${{because}}\nthe page shows: ${{shown}}`));
          }}, {seconds * 1000});
          if (!check()) observer.observe(document, {{
            subtree: true, childList: true, attributes: true, characterData: true }});
        }})"""
        return await self.evaluate(script)

    async def click(self, selector: str) -> None:
        """A click on the element (an SVG one too), as a user's would bubble up."""
        click = "new MouseEvent('click', {bubbles: true, cancelable: true, view: window})"
        await self.evaluate(
            f"document.querySelector({json.dumps(selector)}).dispatchEvent({click})"
        )

    async def fill(self, selector: str, text: str) -> None:
        await self.evaluate(
            f"""(() => {{ const field = document.querySelector({json.dumps(selector)});
                field.value = {json.dumps(text)};
                field.dispatchEvent(new Event("input", {{bubbles: true}})); }})()"""
        )

    async def screenshot(self, path: Path) -> Path:
        """The whole page, below the window's height too, as a PNG file."""
        size = (await self.send("Page.getLayoutMetrics"))["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))
        return path

    def _on_event(self, message: Event) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method is None:
            return
        self.events.append(message)
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(
                f"exception: {details.get('exception', {}).get('description') or details['text']}"
            )
        elif method == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
            text = " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
            self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(f"log ({entry['source']}): {entry['text']} {entry.get('url', '')}")


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
