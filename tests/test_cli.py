"""`dspex-gql` as an operator types it, each command a real process: help, one-line errors with
their exit status, migrations, organizations' API keys (the same rules as the API's, revoked at
once in a running server) and `runs watch`."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dspex_gql import __version__
from dspex_gql.cli import _parser
from dspex_gql.db import migrations
from tests.support.external_services import REDIS, service_url
from tests.support.factories import create_program, execute, unique
from tests.support.processes import Server, clean_env, one_error_line, run_cli, start_cli
from tests.support.websocket_client import Socket

ME = "{ me { email } }"
EXECUTION_UPDATED = "subscription($id: ID!) { executionUpdated(id: $id) { id status } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"
ORGANIZATION_LINE = re.compile(r"^Organization: .* \((\S+)\)$", re.M)
NO_KEY = "5d3bd4b5-0f2c-4a8e-9d36-2f5a8f3b7c11"
KEY_LINE = re.compile(r"^(?:Admin )?API key: (dsx_\S+)$", re.M)


@pytest.fixture(scope="class")
def env(database_url: str) -> dict[str, str]:
    """The migrated database of the session, and Redis between processes."""
    return clean_env(
        DSPEX_DATABASE_URL=database_url,
        DSPEX_DATABASE_MIGRATE_ON_START="false",
        DSPEX_BROADCAST_URL=service_url(REDIS, "Redis"),
    )


@pytest.fixture(scope="class")
def server(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[Server]:
    """One server for the tests of a class (each makes an organization of its own)."""
    started = Server(tmp_path_factory.mktemp("server"), env)
    started.wait_ready()
    yield started
    started.stop()


class Organization:
    """An organization made with `create-org`: its slug, admin email and admin key."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.admin_email = f"{unique('admin')}@cli.test"
        created = run_cli(
            "create-org", unique("Org"), "--admin-email", self.admin_email, cwd=tmp_path, env=env
        )
        assert created.returncode == 0, created.stderr
        self.slug = ORGANIZATION_LINE.findall(created.stdout)[0]
        self.admin_key = KEY_LINE.findall(created.stdout)[0]


def listed(tmp_path: Path, env: dict[str, str], slug: str) -> list[dict[str, Any]]:
    result = run_cli("list-keys", slug, "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


class TestHelp:
    def test_version(self, tmp_path: Path) -> None:
        result = run_cli("--version", cwd=tmp_path, env=clean_env())

        assert (result.returncode, result.stdout.strip()) == (0, f"dspex-gql {__version__}")

    def test_the_installed_command_is_the_same_program(self, tmp_path: Path) -> None:
        installed = Path(sys.executable).with_name("dspex-gql")
        if not installed.exists():
            pytest.skip("dspex-gql is not installed beside this Python")

        result = subprocess.run(
            [str(installed), "--version"], cwd=tmp_path, env=clean_env(), capture_output=True
        )

        assert result.stdout.decode().strip() == f"dspex-gql {__version__}"

    def test_every_command_lists_in_the_help(self, tmp_path: Path) -> None:
        result = run_cli("--help", cwd=tmp_path, env=clean_env())

        assert result.returncode == 0
        for command in ("serve", "worker", "migrate", "create-key", "list-keys", "revoke-key"):
            assert command in result.stdout
        assert "runs" in result.stdout

    def test_every_command_and_option_has_a_help_text(self) -> None:
        undocumented = [
            f"{name} {action.dest}"
            for name, parser in _every_parser(_parser())
            for action in parser._actions
            if not action.help and not isinstance(action, argparse._SubParsersAction)
        ]
        commands_without_help = [
            f"{name} {choice.dest}"
            for name, parser in _every_parser(_parser())
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for choice in action._choices_actions
            if not choice.help
        ]

        assert undocumented == []
        assert commands_without_help == []


def _every_parser(
    parser: argparse.ArgumentParser, name: str = "dspex-gql"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub_parser in action.choices.items():
                yield from _every_parser(sub_parser, f"{name} {sub_name}")


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["set-quota", "acme", "lots"], "a number of seconds, 0 or more, or 'none'"),
            (
                ["create-org", "A", "--admin-email", "a@b.c", "--compute-quota-seconds", "nan"],
                "0 or more",
            ),
            (["worker", "--concurrency", "0"], "a whole number of 1 or more"),
            (["serve", "--port", "70000"], "a port from 0 to 65535"),
            (["runs", "watch", "not-an-id"], "a run's id is a UUID"),
            (["create-key", "acme", "--name", "x", "--expires-in-days", "-1"], "0 or more"),
            (["frobnicate"], "invalid choice"),
        ],
    )
    def test_is_one_line_with_status_2(self, tmp_path: Path, args: list[str], says: str) -> None:
        result = run_cli(*args, cwd=tmp_path, env=clean_env())

        assert result.returncode == 2
        assert says in one_error_line(result)
        assert result.stdout == ""

    def test_a_bad_setting_is_one_line_with_status_2(self, tmp_path: Path) -> None:
        result = run_cli("migrate", cwd=tmp_path, env=clean_env(DSPEX_DATABASE_POOL_SIZE="x"))

        assert result.returncode == 2
        assert "pool_size" in one_error_line(result)


class TestUnreachable:
    def test_a_database_nobody_answers_is_one_line_with_status_1(self, tmp_path: Path) -> None:
        closed = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
        env = clean_env(DSPEX_DATABASE_URL=closed, DSPEX_JOBS="procrastinate")
        commands = [["migrate"], ["migrate", "current"], ["list-keys", "acme"], ["worker"]]
        for args in [*commands, ["serve", "--port", "0"]]:
            result = run_cli(*args, cwd=tmp_path, env=env)

            assert result.returncode == 1, args
            assert "the database did not answer" in one_error_line(result)

    def test_a_server_nobody_answers_is_one_line_with_status_1(self, tmp_path: Path) -> None:
        watch = ["runs", "watch", str(uuid.uuid4()), "--url", "http://127.0.0.1:1", "--key", "k"]
        result = run_cli(*watch, cwd=tmp_path, env=clean_env())

        assert result.returncode == 1
        assert "could not reach the server at ws://127.0.0.1:1/graphql" in one_error_line(result)


class TestMigrate:
    def test_up_shows_progress_then_current_and_history_tell_where_it_is(
        self, tmp_path: Path, fresh_database: str
    ) -> None:
        env = clean_env(DSPEX_DATABASE_URL=fresh_database)
        head = migrations.head_revision()
        before = run_cli("migrate", "current", cwd=tmp_path, env=env)
        up = run_cli("migrate", cwd=tmp_path, env=env)
        current = run_cli("migrate", "current", cwd=tmp_path, env=env)
        history = run_cli("migrate", "history", cwd=tmp_path, env=env)

        assert "revision None (empty" in before.stdout
        assert up.returncode == 0, up.stderr
        assert re.search(r"migrating .* (\d+)/\1", up.stderr), up.stderr
        assert up.stdout.strip() == f"database at revision {head} (head)"
        assert current.stdout.strip() == f"database at revision {head} (head)"
        lines = history.stdout.splitlines()
        assert lines[0].startswith("[x] 0001 ")
        assert lines[-1].startswith(f"[x] {head} ")
        assert lines[-1].endswith("<- current")

    def test_down_to_a_revision_then_up_again(self, tmp_path: Path, fresh_database: str) -> None:
        env = clean_env(DSPEX_DATABASE_URL=fresh_database)
        run_cli("migrate", cwd=tmp_path, env=env)

        down = run_cli("migrate", "0008", "--downgrade", cwd=tmp_path, env=env)
        history = run_cli("migrate", "history", cwd=tmp_path, env=env)
        up = run_cli("migrate", cwd=tmp_path, env=env)

        assert down.returncode == 0, down.stderr
        head = migrations.head_revision()
        assert (
            down.stdout.strip()
            == f"database at revision 0008 (head is {head}: run `dspex-gql migrate`)"
        )
        assert "[x] 0008 " in history.stdout
        assert f"[ ] {head} " in history.stdout
        assert up.stdout.strip() == f"database at revision {head} (head)"

    def test_down_without_a_target_is_refused_and_changes_nothing(
        self, tmp_path: Path, fresh_database: str
    ) -> None:
        env = clean_env(DSPEX_DATABASE_URL=fresh_database)
        run_cli("migrate", cwd=tmp_path, env=env)

        refused = run_cli("migrate", "--downgrade", cwd=tmp_path, env=env)
        current = run_cli("migrate", "current", cwd=tmp_path, env=env)

        assert refused.returncode == 2
        assert "--downgrade needs the revision to go down to" in one_error_line(refused)
        assert current.stdout.strip().endswith("(head)")

    def test_an_unknown_revision_is_one_line_with_status_2(
        self, tmp_path: Path, fresh_database: str
    ) -> None:
        env = clean_env(DSPEX_DATABASE_URL=fresh_database)

        result = run_cli("migrate", "9999", cwd=tmp_path, env=env)

        assert result.returncode == 2
        assert "Can't locate revision identified by '9999'" in one_error_line(result)


class TestApiKeys:
    async def test_created_used_listed_and_revoked_at_once_in_a_running_server(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        created = run_cli("create-key", org.slug, "--name", "ci", cwd=tmp_path, env=env)
        [key] = KEY_LINE.findall(created.stdout)
        async with server.client(key) as client:
            program = await create_program(client, configuration={"latency_ms": 60_000})
            slow = await execute(client, program["id"])
        me = await server.post(ME, key)
        keys = {row["name"]: row for row in listed(tmp_path, env, org.slug)}

        assert created.returncode == 0, created.stderr
        assert me["data"]["me"]["email"] == org.admin_email
        assert set(keys) == {"first admin key", "ci"}
        assert keys["ci"]["owner"] == org.admin_email
        assert key.startswith(f"dsx_{keys['ci']['prefix']}_")
        assert keys["ci"]["last_used"] is not None
        assert keys["ci"]["revoked"] is None

        async with Socket(server.websocket_url, key) as socket:
            watching = await socket.start(EXECUTION_UPDATED, {"id": slow["id"]})
            assert (await socket.next_of(watching))["type"] == "next"  # watched from now on
            revoked = run_cli("revoke-key", org.slug, keys["ci"]["prefix"], cwd=tmp_path, env=env)
            [ended, complete] = await socket.messages_of(watching)
        after = await server.post(ME, key)
        await server.post(CANCEL, org.admin_key, id=slow["id"])

        assert revoked.returncode == 0, revoked.stderr
        assert f"Revoked key {keys['ci']['id']}" in revoked.stdout
        assert ended["payload"]["errors"][0]["message"] == "The API key was revoked"
        assert complete["type"] == "complete"
        assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert {row["name"]: row["revoked"] for row in listed(tmp_path, env, org.slug)}["ci"]
        assert (await server.post(ME, org.admin_key))["data"]["me"]["email"] == org.admin_email

    def test_a_key_of_another_member_and_one_that_expires(
        self, tmp_path: Path, env: dict[str, str]
    ) -> None:
        org = Organization(tmp_path, env)
        created = run_cli(
            "create-key", org.slug, "--name", "temp", "--user", org.admin_email.upper(),
            "--expires-in-days", "1.5", cwd=tmp_path, env=env,
        )  # fmt: skip

        assert created.returncode == 0, created.stderr
        [row] = [row for row in listed(tmp_path, env, org.slug) if row["name"] == "temp"]
        assert row["expires"] is not None
        assert row["owner"] == org.admin_email

    def test_the_table_shows_every_column(self, tmp_path: Path, env: dict[str, str]) -> None:
        org = Organization(tmp_path, env)

        result = run_cli("list-keys", org.slug, cwd=tmp_path, env=env)

        header, row = result.stdout.splitlines()
        assert header.split() == [
            "ID", "NAME", "OWNER", "PREFIX", "CREATED", "LAST", "USED", "EXPIRES", "REVOKED",
        ]  # fmt: skip
        assert "first admin key" in row

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["create-key", "no-such-org", "--name", "x"], "Organization 'no-such-org' not found"),
            (["create-key", "{slug}", "--name", "x", "--user", "no@x.y"], "User 'no@x.y' not"),
            (["create-key", "{slug}", "--name", " "], "name"),
            (["revoke-key", "{slug}", "0123456789ab"], "ApiKey '0123456789ab' not found"),
            (["revoke-key", "{slug}", NO_KEY], f"ApiKey '{NO_KEY}' not found"),
            (["list-keys", "no-such-org"], "Organization 'no-such-org' not found"),
        ],
    )  # fmt: skip
    def test_mistakes_are_one_line_with_status_2(
        self, tmp_path: Path, env: dict[str, str], args: list[str], says: str
    ) -> None:
        org = Organization(tmp_path, env)

        result = run_cli(*[a.format(slug=org.slug) for a in args], cwd=tmp_path, env=env)

        assert result.returncode == 2
        assert says in one_error_line(result)

    def test_revoking_twice_is_a_conflict(self, tmp_path: Path, env: dict[str, str]) -> None:
        org = Organization(tmp_path, env)
        prefix = org.admin_key.split("_")[1]

        first = run_cli("revoke-key", org.slug, org.admin_key, cwd=tmp_path, env=env)
        second = run_cli("revoke-key", org.slug, prefix, cwd=tmp_path, env=env)

        assert first.returncode == 0, first.stderr
        assert second.returncode == 2
        assert "already revoked" in one_error_line(second)


class TestRunsWatch:
    async def test_follows_an_execution_to_its_end(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            program = await create_program(client, configuration={"latency_ms": 300})
            started = await execute(client, program["id"])
        watch = ["runs", "watch", started["id"], "--url", server.url, "--key", org.admin_key]

        result = run_cli(*watch, cwd=tmp_path, env=clean_env())

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"execution {started['id']} COMPLETED"
        assert f"execution {started['id'][:8]}" in result.stderr  # the bar

    async def test_a_failed_execution_exits_3_saying_why(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            program = await create_program(client, configuration={"fail_on": {"question": "x"}})
            started = await execute(client, program["id"], inputs={"question": "x"})
        watch = ["runs", "watch", started["id"], "--url", server.url]

        result = run_cli(*watch, cwd=tmp_path, env=clean_env(DSPEX_CLI_API_KEY=org.admin_key))

        assert result.returncode == 3, result.stderr
        assert result.stdout.startswith(f"execution {started['id']} FAILED: ")
        assert "Mock failure injected" in result.stdout

    async def test_follows_an_optimization_run_with_its_iterations(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        from tests.support.optimizations import create_space, landscape_program, start

        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            space = await create_space(client)
            program_id = await landscape_program(client, space["id"], latency_ms=20)
            run = await start(client, program_id, maxIterations=6)
        watch = ["runs", "watch", run["id"], "--url", server.url, "--key", org.admin_key]

        result = run_cli(*watch, cwd=tmp_path, env=clean_env())

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"optimization run {run['id']} COMPLETED"
        assert "6/6" in result.stderr

    async def test_follows_a_dag_run_with_its_nodes(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        from tests.dags.runs_support import active_dag, call, program, started

        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            ask = await program(client, "question -> answer", latency_ms=50)
            nodes = [
                call("first", ask, {"question": "$context.question"}),
                call("second", ask, {"question": "$nodes.first.answer"}, "first"),
            ]
            run_id = await started(client, await active_dag(client, nodes), {"question": "q"})
        watch = ["runs", "watch", run_id, "--url", server.url, "--key", org.admin_key]

        result = run_cli(*watch, cwd=tmp_path, env=clean_env())

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"DAG run {run_id} SUCCESS"
        assert "2/2" in result.stderr

    async def test_a_cancelled_run_exits_4(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            program = await create_program(client, configuration={"latency_ms": 60_000})
            slow = await execute(client, program["id"])
            watch = ["runs", "watch", slow["id"], "--url", server.url, "--key", org.admin_key]
            watching = start_cli(*watch, cwd=tmp_path, env=clean_env())
            await client.data(CANCEL, id=slow["id"])
        out, err = watching.communicate(timeout=60)

        assert watching.returncode == 4, err
        assert out.startswith(f"execution {slow['id']} CANCELLED")

    async def test_the_key_may_come_from_a_file(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        async with server.client(org.admin_key) as client:
            started = await execute(client, (await create_program(client))["id"])
        (tmp_path / "key").write_text(org.admin_key + "\n")
        watch = ["runs", "watch", started["id"], "--url", server.url]

        from_file = run_cli(*watch, cwd=tmp_path, env=clean_env(DSPEX_CLI_API_KEY_FILE="key"))
        none = run_cli(*watch, cwd=tmp_path, env=clean_env())

        assert from_file.returncode == 0, from_file.stderr
        assert none.returncode == 2
        assert "runs watch needs an API key" in one_error_line(none)

    async def test_an_id_no_run_has_or_a_wrong_key(
        self, tmp_path: Path, env: dict[str, str], server: Server
    ) -> None:
        org = Organization(tmp_path, env)
        nothing = str(uuid.uuid4())

        unknown = run_cli(
            "runs", "watch", nothing, "--url", server.url, "--key", org.admin_key,
            cwd=tmp_path, env=clean_env(),
        )  # fmt: skip
        refused = run_cli(
            "runs", "watch", nothing, "--url", server.url, "--key", "dsx_000000000000_nope",
            cwd=tmp_path, env=clean_env(),
        )  # fmt: skip

        assert unknown.returncode == 2
        assert f"Run '{nothing}' not found" in one_error_line(unknown)
        assert refused.returncode == 1
        assert "the server refused the API key" in one_error_line(refused)
