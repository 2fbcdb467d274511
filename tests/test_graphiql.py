"""GraphiQL at /graphql works offline: its page loads only files the package serves, each pinned
by its SRI hash and recorded in the MANIFEST, and a real browser with no network renders it."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from dspex_gql.graphql.ide import ASSETS_DIR
from tests.support.external_services import installed_program
from tests.support.http_client import GraphQLClient
from tests.support.processes import Server, clean_env

ASSETS_URL = "/graphql/assets/"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
HTML = {"accept": "text/html"}
BROWSER_SECONDS = 60
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host name but the test server's fails to resolve: the page must need nothing else.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=10000",
]


@dataclass(frozen=True)
class Asset:
    url: str
    integrity: str

    @property
    def name(self) -> str:
        return self.url.removeprefix(ASSETS_URL)


class AssetTags(HTMLParser):
    """The `<script src>` and `<link rel=stylesheet href>` of a page, with their integrity."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[Asset] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else None
        if tag == "link" and attributes.get("rel") == "stylesheet":
            url = attributes.get("href")
        if url is not None:
            self.assets.append(Asset(url, attributes.get("integrity") or ""))


def assets_of(page: str) -> list[Asset]:
    parser = AssetTags()
    parser.feed(page)
    return parser.assets


def sri(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


@dataclass(frozen=True)
class ManifestEntry:
    package: str
    path: str
    integrity: str


def manifest() -> dict[str, ManifestEntry]:
    """`static/graphiql/MANIFEST`: file, package@version, path in the package, integrity."""
    lines = (ASSETS_DIR / "MANIFEST").read_text().splitlines()
    rows = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    return {file: ManifestEntry(*entry) for file, *entry in rows}


class TestTheVendoredAssets:
    def test_the_manifest_records_each_file_with_its_pinned_version_and_hash(self) -> None:
        entries = manifest()
        files = {path.name for path in ASSETS_DIR.iterdir()} - {"MANIFEST", "LICENSES"}

        assert set(entries) == files
        for name, entry in entries.items():
            assert sri((ASSETS_DIR / name).read_bytes()) == entry.integrity, name
            assert re.fullmatch(r"@?[a-z/-]+@\d+\.\d+\.\d+", entry.package), entry.package
        assert "graphiql@3.8.3" in {entry.package for entry in entries.values()}


class TestTheGraphiQLPage:
    async def test_loads_each_vendored_asset_and_nothing_else(self, client: GraphQLClient) -> None:
        page = await client.http.get("/graphql", headers=HTML)
        assets = assets_of(page.text)

        assert page.status_code == 200
        assert {asset.name for asset in assets} == set(manifest())
        assert all(asset.url.startswith(ASSETS_URL) for asset in assets)
        assert re.search(r"https?://", page.text) is None, "no other origin, not even a CDN"

    async def test_every_asset_is_served_with_the_bytes_its_hash_names(
        self, client: GraphQLClient
    ) -> None:
        page = await client.http.get("/graphql", headers=HTML)

        for asset in assets_of(page.text):
            response = await client.http.get(asset.url)
            assert response.status_code == 200, asset.url
            expected_type = CONTENT_TYPES[Path(asset.name).suffix]
            assert response.headers["content-type"].startswith(expected_type), asset.url
            assert sri(response.content) == asset.integrity == manifest()[asset.name].integrity

    async def test_the_large_script_travels_compressed(self, client: GraphQLClient) -> None:
        url, gzip = f"{ASSETS_URL}graphiql.min.js", {"accept-encoding": "gzip"}
        async with client.http.stream("GET", url, headers=gzip) as response:
            sent = b"".join([chunk async for chunk in response.aiter_raw()])

        assert response.headers["content-encoding"] == "gzip"
        assert len(sent) < (ASSETS_DIR / "graphiql.min.js").stat().st_size / 3

    async def test_fastapis_own_documentation_pages_are_off(self, client: GraphQLClient) -> None:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.http.get(path)).status_code == 404, path


class TestInARealBrowser:
    def test_graphiql_renders_with_no_network_but_the_service(self, tmp_path: Path) -> None:
        chromium = installed_program("chromium", "apt-get install -y chromium")
        server = Server(tmp_path, clean_env())
        server.wait_ready()
        try:
            dom = dump_dom(chromium, f"{server.url}/graphql", tmp_path / "profile")
        finally:
            server.stop()

        assert "Loading..." not in dom
        assert 'class="graphiql-editor' in dom, "GraphiQL's React app rendered its editors"
        assert 'aria-label="Show GraphiQL Explorer"' in dom, "the explorer plugin loaded"


def dump_dom(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (up to 10 s of virtual time)."""
    command = [chromium, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_SECONDS)
    assert result.returncode == 0, result.stderr
    return result.stdout
