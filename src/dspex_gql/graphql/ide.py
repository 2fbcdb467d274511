"""GraphiQL from the package, so it works offline: the page at `/graphql` and, under
`/graphql/assets/`, the scripts and styles Strawberry's page would load from a CDN (vendored by
`scripts/vendor-graphiql`; versions and hashes in `static/graphiql/MANIFEST`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

ASSETS_DIR = Path(__file__).parents[1] / "static" / "graphiql"
ASSETS_PATH = "/assets"
"""Below the GraphQL endpoint's own path."""
PAGE = Path(__file__).with_name("graphiql.html")


def graphiql_page(assets_url: str) -> str:
    """The page, loading its assets from `assets_url` (e.g. `/graphql/assets`)."""
    return _template().replace("{{ assets }}", assets_url)


def graphiql_assets() -> ASGIApp:
    return GZipMiddleware(StaticFiles(directory=ASSETS_DIR), minimum_size=1024)


@cache
def _template() -> str:
    return PAGE.read_text(encoding="utf-8")
