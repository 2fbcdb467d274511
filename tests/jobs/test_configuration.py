"""What needs no database: the setting that chooses procrastinate, the queue of each lane, the
libpq form of our database url, and the schema migration 0009 installs."""

from __future__ import annotations

from pathlib import Path

import procrastinate
import pytest
from procrastinate.schema import SchemaManager
from pydantic import ValidationError

from dspex_gql.cli import main
from dspex_gql.config import DatabaseSettings, Settings
from dspex_gql.jobs.conninfo import conninfo
from dspex_gql.jobs.queue import QUEUES, queue_of

POSTGRES = "postgresql+asyncpg://app@db:5432/dspex"


def test_runs_run_in_process_by_default() -> None:
    assert Settings().jobs == "inprocess"


def test_procrastinate_is_chosen_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSPEX_JOBS", "procrastinate")
    monkeypatch.setenv("DSPEX_DATABASE_URL", POSTGRES)

    assert Settings().jobs == "procrastinate"


def test_procrastinate_on_sqlite_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="DSPEX_JOBS=procrastinate needs PostgreSQL"):
        Settings(jobs="procrastinate", database=DatabaseSettings(url="sqlite+aiosqlite:///x.db"))


def test_each_lane_has_its_queue() -> None:
    assert queue_of(None) == "executions"
    assert [queue_of(lane) for lane in ("execution", "optimization", "dag")] == [
        "executions",
        "optimizations",
        "dags",
    ]
    assert set(QUEUES.values()) == {"executions", "optimizations", "dags"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
            "host=127.0.0.1 port=5432 user=postgres dbname=test",
        ),
        (
            "postgresql+asyncpg://app:s3cr%40t%20x@db/dspex?ssl=require&timeout=2.5",
            "host=db user=app password='s3cr@t x' dbname=dspex sslmode=require connect_timeout=3",
        ),
        (
            "postgresql+asyncpg://app@/dspex?host=a:5433&host=b&prepared_statement_cache_size=0",
            "host=a,b port=5433, user=app dbname=dspex",
        ),
        (
            "postgresql://app@db/dspex?application_name=dspex worker",
            "host=db user=app dbname=dspex application_name='dspex worker'",
        ),
    ],
)
def test_the_database_url_becomes_a_libpq_conninfo(url: str, expected: str) -> None:
    assert conninfo(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite+aiosqlite:///dspex.db", "procrastinate needs PostgreSQL"),
        (f"{POSTGRES}?bogus=1", 'option libpq does not know: invalid connection option "bogus"'),
    ],
)
def test_a_url_libpq_cannot_use_is_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        conninfo(url)


def test_the_vendored_schema_is_the_installed_procrastinate_s() -> None:
    """Migration 0009 applies a copy of procrastinate 3.10.0's schema. A procrastinate that
    changes its schema needs a migration of ours (its `sql/migrations/*`) and a copy of its own."""
    vendored = Path(__file__).parents[2] / "migrations" / "sql" / "procrastinate-3.10.0.sql"

    assert SchemaManager.get_schema() == vendored.read_text(), (
        f"procrastinate {procrastinate.__version__} has another schema: add a migration"
    )


@pytest.mark.parametrize(
    ("argv", "environment", "said"),
    [
        (["worker"], {}, "a worker takes queued runs: set DSPEX_JOBS=procrastinate"),
        (
            ["worker"],
            {"DSPEX_JOBS": "procrastinate"},
            "DSPEX_JOBS=procrastinate needs PostgreSQL",
        ),
        (["worker", "--queues", "executions,later"], {}, "queues are dags, executions"),
        (["worker", "--concurrency", "0"], {}, "a whole number of 1 or more, got '0'"),
    ],
)
def test_the_worker_command_refuses_in_one_line(
    argv: list[str],
    environment: dict[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit) as exit:
        main(argv)

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit.value.code == 2
    assert said in error
    assert error.startswith("dspex-gql")
