"""Statements built once and run with other parameters (`db.sql.remembered`)."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, select

from dspex_gql.db import sql
from dspex_gql.programs.models import Program


class Builds:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> Select[Program]:
        self.count += 1
        return select(Program).where(Program.id == bindparam("id"))


def test_a_statement_is_built_once_per_key() -> None:
    builds = Builds()

    first = sql.remembered(("test", "once"), builds)
    again = sql.remembered(("test", "once"), builds)

    assert again is first
    assert builds.count == 1


def test_at_most_so_many_are_kept_then_all_are_forgotten() -> None:
    builds = Builds()
    sql.remembered(("test", "first"), builds)

    for number in range(sql.STATEMENT_SHAPES):
        sql.remembered(("test", number), builds)
        assert len(sql._STATEMENTS) <= sql.STATEMENT_SHAPES
    sql.remembered(("test", "first"), builds)

    assert builds.count == sql.STATEMENT_SHAPES + 2, "the first was forgotten, then built again"
