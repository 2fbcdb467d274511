"""The dashboard at `/`: a page served from the package (vendored libraries pinned by hash, our
own ES modules, long-cached under a path naming their content, a strict Content-Security-Policy),
and, in a real headless Chromium with no network but the service, what a user does with it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from dspex_gql.config import ServerSettings, Settings
from dspex_gql.graphql.dashboard import ASSETS_DIR, assets_url
from tests.dags.runs_support import active_dag, call, program, started
from tests.support.app import make_settings
from tests.support.browser import Browser, Page
from tests.support.http_client import GraphQLClient
from tests.support.optimizations import SPACE, create_space, landscape_program, start
from tests.support.processes import Server, clean_env
from tests.test_graphiql import Asset, assets_of, sri

VENDOR = ASSETS_DIR / "vendor"
APP = ASSETS_DIR / "app"
HTML = {"accept": "text/html"}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
VENDORED_BUDGET = 150 * 1024
"""The issue's budget for the vendored libraries, in bytes before compression."""
ARTIFACTS = Path(__file__).parent / "artifacts" / "dashboard"
RELATIVE_IMPORT = re.compile(r'^import [^;]* from "(\./[\w-]+\.js)";$', re.M)
ANY_IMPORT = re.compile(r"^import\b.*$", re.M)


def manifest() -> dict[str, tuple[str, str, str]]:
    """`vendor/MANIFEST`: file → (package@version, path in the package, integrity)."""
    lines = (VENDOR / "MANIFEST").read_text().splitlines()
    rows = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    return {file: (package, path, integrity) for file, package, path, integrity in rows}


class TestTheVendoredLibraries:
    def test_each_file_is_recorded_with_its_pinned_version_and_hash(self) -> None:
        entries = manifest()
        files = {path.name for path in VENDOR.iterdir()} - {"MANIFEST", "LICENSES"}

        assert set(entries) == files
        for name, (package, _, integrity) in entries.items():
            assert sri((VENDOR / name).read_bytes()) == integrity, name
            assert re.fullmatch(r"@?[a-z/-]+@\d+\.\d+\.\d+", package), package
        packages = {package.rsplit("@", 1)[0] for package, _, _ in entries.values()}
        assert packages == {"uplot", "graphql-ws", "@dagrejs/dagre"}

    def test_they_stay_within_the_budget_and_carry_their_licenses(self) -> None:
        size = sum((VENDOR / name).stat().st_size for name in manifest())
        licenses = (VENDOR / "LICENSES").read_text()

        assert size <= VENDORED_BUDGET, size
        for package in ("uplot@1.6.32", "graphql-ws@6.4.2", "@dagrejs/dagre@3.1.4"):
            assert f"== {package} (MIT) ==" in licenses


class TestThePage:
    async def test_is_served_at_the_root_with_a_strict_content_security_policy(
        self, client: GraphQLClient
    ) -> None:
        page = await client.http.get("/", headers=HTML)

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self';" in policy, "no inline script, no eval, no other origin"
        assert "connect-src 'self'" in policy
        assert re.search(r"https?://", page.text) is None, "no other origin, not even a CDN"

    async def test_loads_each_vendored_file_by_its_hash_and_our_own_modules(
        self, client: GraphQLClient
    ) -> None:
        page = (await client.http.get("/", headers=HTML)).text
        found = [*assets_of(page), *on_demand(page)]
        assets = {asset.url.removeprefix(assets_url() + "/"): asset for asset in found}

        vendored = {f"vendor/{name}": entry[2] for name, entry in manifest().items()}
        assert {name: assets[name].integrity for name in vendored} == vendored
        assert set(assets) - set(vendored) == {"app/style.css", "app/main.js"}
        assert 'type="module" src="' + assets_url() + '/app/main.js"' in page
        preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)"', page)
        expected = {f"{assets_url()}/{name}" for name in modules_reached() - {"app/main.js"}}
        assert set(preloaded) == expected, "each module main.js reaches, fetched at once"

    async def test_every_asset_is_served_long_cached_under_its_content_path(
        self, client: GraphQLClient
    ) -> None:
        files = [*(f"vendor/{name}" for name in manifest()), *modules_reached(), "app/style.css"]

        for name in files:
            response = await client.http.get(f"{assets_url()}/{name}")
            assert response.status_code == 200, name
            assert response.content == (ASSETS_DIR / name).read_bytes(), name
            content_type = CONTENT_TYPES[Path(name).suffix]
            assert response.headers["content-type"].startswith(content_type), name
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    async def test_another_versions_assets_are_not_found(self, client: GraphQLClient) -> None:
        response = await client.http.get("/dashboard/assets/000000000000/app/main.js")

        assert response.status_code == 404
        assert "cache-control" not in response.headers

    async def test_our_modules_import_only_each_other_and_name_no_other_origin(self) -> None:
        reached = modules_reached()

        assert reached == {f"app/{path.name}" for path in APP.glob("*.js")}, "no dead module"
        for path in APP.glob("*.js"):
            source = path.read_text()
            imports = ANY_IMPORT.findall(source)
            assert len(imports) == len(RELATIVE_IMPORT.findall(source)), path.name
            urls = set(re.findall(r"https?://[^\s\"'`]+", source))
            assert urls <= {"http://www.w3.org/2000/svg"}, path.name


class TestSwitchedOff:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, server=ServerSettings(dashboard=False))

    async def test_neither_the_page_nor_its_assets_are_served(self, client: GraphQLClient) -> None:
        page = await client.http.get("/", headers=HTML)
        asset = await client.http.get(f"{assets_url()}/app/main.js")

        assert page.status_code == 404
        assert asset.status_code == 404
        assert (await client.data("{ me { id } }"))["me"]["id"], "the API is served as ever"


def on_demand(page: str) -> list[Asset]:
    """Scripts the page declares (`<script type="text/plain" data-src integrity>`) for a module
    to load when needed."""
    declared = re.findall(
        r'<script type="text/plain" id="[\w-]+" data-src="([^"]+)" integrity="([^"]+)">', page
    )
    return [Asset(url, integrity) for url, integrity in declared]


def modules_reached() -> set[str]:
    """Our modules reachable from `app/main.js` through their static imports."""
    reached, todo = set(), ["app/main.js"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            source = (ASSETS_DIR / name).read_text()
            todo += [f"app/{found[2:]}" for found in RELATIVE_IMPORT.findall(source)]
    return reached


# -- in a real browser --------------------------------------------------------------------------

LATENCY = {"name": "latency_ms", "type": "INTEGER", "constraints": {"min": 10, "max": 50}}
"""A variable of the mock adapter: each evaluation's latency, traded against its score."""
SCORE_AND_LATENCY = [{"name": "SCORE"}, {"name": "LATENCY"}]
POINTS = "+document.querySelector('{chart}')?.dataset.points"
STATUS = "document.querySelector('h1 .badge')?.dataset.status"


def points_above(chart: str, count: int) -> str:
    """A condition: the chart shows more than `count` points; its value is how many."""
    points = POINTS.format(chart=chart)
    return f"{points} > {count} && {points}"


def status_is(status: str) -> str:
    return f"{STATUS} === {status!r}"


def create_org(server: Server, env: dict[str, str]) -> str:
    """An organization and its admin, made as an operator makes them: their API key."""
    name = f"dashboard-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "dspex_gql", "create-org", name, "--admin-email"]
    result = subprocess.run(
        [*command, f"{name}@example.test"],
        cwd=server.log.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"^Admin API key: (\S+)$", result.stdout, re.M)
    assert found, result.stdout
    return found.group(1)


class Screens:
    """Screenshots of one test, kept in tests/artifacts/dashboard/<test>/ (ignored by git)."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.directory = ARTIFACTS / name
        shutil.rmtree(self.directory, ignore_errors=True)  # an earlier run's

    async def take(self, name: str) -> None:
        path = await self.page.screenshot(self.directory / f"{name}.png")
        print(f"screenshot: {path}")


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Any:
    env = clean_env(DSPEX_DATABASE_URL=database_url)
    started_server = Server(tmp_path, env)
    started_server.wait_ready()
    yield started_server, env
    started_server.stop()


class TestInARealBrowser:
    async def test_a_user_signs_in_and_watches_programs_optimizations_and_a_dag(
        self, server: tuple[Server, dict[str, str]], tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        service, env = server
        key = create_org(service, env)
        async with service.client(key) as api:
            space = await create_space(api, variables=[*SPACE, LATENCY])
            watched = await landscape_program(api, space["id"])
            stuck = await landscape_program(api, (await create_space(api))["id"], latency_ms=60_000)
            answering = await program(api, "question -> answer", latency_ms=20)
            dag_id = await diamond_dag(api)

        async with Browser(tmp_path / "profile") as browser:
            page = await browser.page()
            screens = Screens(page, request.node.name.replace("[", "-").rstrip("]"))
            await sign_in(page, screens, service.url, key)
            async with service.client(key) as api:
                run = await start(api, watched, maxIterations=60, objectives=SCORE_AND_LATENCY)
                cancelled = await start(api, stuck, maxIterations=5)
            await watch_a_run_complete(page, screens, run["id"])
            await apply_the_best_configuration(page, screens)
            await cancel_a_run(page, screens, cancelled["id"])
            async with service.client(key) as api:
                rerun = await start(
                    api, watched, maxIterations=30, seed=99, objectives=SCORE_AND_LATENCY
                )
            await compare_runs(page, screens, run["id"], rerun["id"])
            async with service.client(key) as api:
                dag_run = await started(api, dag_id, {"question": "What is DSPy?"})
            await watch_a_dag_run(page, screens, dag_run)
            await execute_a_program(page, screens, answering)

        assert page.errors == [], "no console error, exception or failed load"


async def diamond_dag(api: GraphQLClient) -> str:
    """retrieve → (answer, summarize) → check: long enough (~1.5 s) to be watched running."""
    retrieve = await program(api, "question -> passage", latency_ms=500)
    answer = await program(api, "question, passage -> answer", latency_ms=500)
    summarize = await program(api, "passage -> summary", latency_ms=400)
    check = await program(api, "answer, summary -> verdict", latency_ms=400)
    passage = "$nodes.retrieve.passage"
    return await active_dag(
        api,
        [
            call("retrieve", retrieve, {"question": "$context.question"}),
            call(
                "answer", answer, {"question": "$context.question", "passage": passage}, "retrieve"
            ),
            call("summarize", summarize, {"passage": passage}, "retrieve"),
            call(
                "check",
                check,
                {"answer": "$nodes.answer.answer", "summary": "$nodes.summarize.summary"},
                "answer",
                "summarize",
            ),
        ],
    )


async def sign_in(page: Page, screens: Screens, url: str, key: str) -> None:
    await page.goto(f"{url}/")
    await page.until("document.querySelector('#api-key')")
    await screens.take("01-sign-in")
    await page.fill("#api-key", "dsx_not-a-key")
    await page.evaluate("document.querySelector('.sign-in form').requestSubmit()")
    refusal = await page.until("document.querySelector('.sign-in .notice.error')?.textContent")
    assert refusal
    await page.fill("#api-key", key)
    await page.evaluate("document.querySelector('.sign-in form').requestSubmit()")
    await page.until("document.querySelector('header.top .who')")
    assert await page.evaluate("sessionStorage.getItem('dspex.apiKey')") == key


async def watch_a_run_complete(page: Page, screens: Screens, run_id: str) -> None:
    await page.evaluate(f"location.hash = '#/optimizations/{run_id}'")
    first = int(await page.until(points_above("#score-chart", 0)))
    grown = int(await page.until(points_above("#score-chart", first)))
    await screens.take("02-optimization-running")
    await page.until(status_is("COMPLETED"))
    final = int(await page.until(points_above("#score-chart", 59)))
    await page.until("document.querySelector('#importance .bar-row')")
    await page.until(points_above("#pareto-chart", 59))
    await screens.take("03-optimization-completed")

    assert first < grown <= final == 60, "the chart grew with the run, to every evaluation"
    rows = await page.evaluate("document.querySelectorAll('#evaluations tbody tr').length")
    assert rows == 60
    assert await page.evaluate("!document.querySelector('#apply-best').disabled")
    await hover_the_front(page, screens)


async def hover_the_front(page: Page, screens: Screens) -> None:
    """Hovering a point of the Pareto front shows its configuration."""
    await page.evaluate(
        """(() => { const dot = document.querySelector('#pareto-chart circle.front');
           const {x, y} = dot.getBoundingClientRect();
           dot.dispatchEvent(new MouseEvent('mouseenter', {clientX: x, clientY: y})); })()"""
    )
    shown = await page.until(
        "!document.querySelector('#pareto-chart .tooltip').hidden"
        " && document.querySelector('#pareto-chart .tooltip').textContent"
    )
    await screens.take("03b-pareto-hover")

    assert shown.startswith("Iteration ")
    assert '"latency_ms"' in shown
    assert '"temperature"' in shown


async def apply_the_best_configuration(page: Page, screens: Screens) -> None:
    await page.click("#apply-best")
    title = await page.until(
        "document.querySelector('.crumbs')?.textContent.startsWith('Programs /')"
        " && document.querySelector('h1').textContent"
    )
    await screens.take("03c-best-applied")

    assert "(optimized)" in title


async def cancel_a_run(page: Page, screens: Screens, run_id: str) -> None:
    await page.evaluate(f"location.hash = '#/optimizations/{run_id}'")
    await page.until(f"{status_is('RUNNING')} && !document.querySelector('#cancel-run').disabled")
    await page.click("#cancel-run")
    await page.until(status_is("CANCELLED"))
    await screens.take("04-optimization-cancelled")

    assert await page.evaluate("document.querySelector('#cancel-run').disabled")


async def compare_runs(page: Page, screens: Screens, *run_ids: str) -> None:
    await page.evaluate("location.hash = '#/optimizations'")
    for run_id in run_ids:
        await page.until(f"document.querySelector('tr[data-id=\"{run_id}\"] input')")
        await page.click(f"tr[data-id='{run_id}'] input")
    await page.click("#compare")
    await page.until(points_above("#overlay-chart", 89))
    await screens.take("05-runs-compared")


async def watch_a_dag_run(page: Page, screens: Screens, run_id: str) -> None:
    """From the list of runs to the run's graph, its nodes' colours changing as they run."""
    await page.evaluate("location.hash = '#/dags'")
    await page.until(f"document.querySelector('tr[data-id=\"{run_id}\"]')")
    await page.click(f"tr[data-id='{run_id}']")
    await page.until("document.querySelectorAll('#dag-graph g.node').length === 4")
    states = "[...document.querySelectorAll('#dag-graph g.node')].map(n => n.dataset.status)"
    await page.until(f"{states}.includes('RUNNING')")
    await screens.take("06-dag-running")
    await page.until(f"{states}.every(s => s === 'SUCCESS') && {status_is('SUCCESS')}")
    await page.click("#dag-graph g.node[data-node='answer']")
    await page.until("document.querySelector('#node-detail h3')")
    await screens.take("07-dag-run")

    assert await page.evaluate(states) == ["SUCCESS"] * 4


async def execute_a_program(page: Page, screens: Screens, program_id: str) -> None:
    """From the list of programs to one, run it from the page, and watch the execution."""
    await page.evaluate("location.hash = '#/programs'")
    await page.until(f"document.querySelector('tr[data-id=\"{program_id}\"]')")
    await screens.take("08-programs")
    await page.click(f"tr[data-id='{program_id}']")
    await page.until("document.querySelector('#execution-inputs')")
    await page.evaluate("document.querySelector('.card form').requestSubmit()")
    await page.until(f"location.hash.startsWith('#/executions/') && {status_is('COMPLETED')}")
    outputs = await page.until("document.querySelectorAll('pre.json')[1]?.textContent")
    await screens.take("09-execution")

    assert '"answer"' in outputs
