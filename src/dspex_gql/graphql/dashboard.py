"""The dashboard at `/`: one page of plain ES modules over the public GraphQL API and its
subscriptions. Every file it loads comes from the package (`static/dashboard/`: our own `app/`,
and `vendor/`, vendored by `scripts/vendor-dashboard` with versions and hashes in its MANIFEST),
under a path naming their content, so browsers may keep them for a year."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS_DIR = Path(__file__).parents[1] / "static" / "dashboard"
PAGE = Path(__file__).with_name("dashboard.html")
ASSETS_PREFIX = "/dashboard/assets"
LONG_CACHE = "public, max-age=31536000, immutable"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # the API, and its websocket (same host)
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cache-control": "no-cache",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def assets_url() -> str:
    """Where this version's assets are: e.g. `/dashboard/assets/3f2a9c0d1e7b`."""
    return f"{ASSETS_PREFIX}/{assets_version()}"


async def dashboard_page() -> HTMLResponse:
    return HTMLResponse(_template().replace("{{ assets }}", assets_url()), headers=PAGE_HEADERS)


def dashboard_assets() -> ASGIApp:
    files = GZipMiddleware(StaticFiles(directory=ASSETS_DIR), minimum_size=1024)
    return CachedForever(files)


@cache
def assets_version() -> str:
    """A digest of every asset's path and bytes: a new release's files get new URLs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in ASSETS_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(ASSETS_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class CachedForever:
    """Found files are sent with `Cache-Control: public, max-age=31536000, immutable`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                message["headers"] = [*message["headers"], (b"cache-control", LONG_CACHE.encode())]
            await send(message)

        await self.app(scope, receive, send_cached)


@cache
def _template() -> str:
    return PAGE.read_text(encoding="utf-8")
