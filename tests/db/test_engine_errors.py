"""A database error names its statement, never the values bound to it: they hold users' inputs
and outputs, and errors end up in logs. Statements echoed for debugging (`DSPEX_DATABASE_ECHO`)
show them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dspex_gql.config import DatabaseSettings
from dspex_gql.db.engine import create_engine

SECRET = "a user's input, 5f0c2d"
FAILING = text("SELECT question FROM no_such_table WHERE question = :question")


async def error_of(database_url: str, echo: bool) -> str:
    engine = create_engine(DatabaseSettings(url=database_url, echo=echo))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(FAILING, {"question": SECRET})
    finally:
        await engine.dispose()
    return str(raised.value)


async def test_an_error_names_the_statement_but_not_its_values(database_url: str) -> None:
    error = await error_of(database_url, echo=False)

    assert "no_such_table" in error
    assert SECRET not in error


async def test_with_statements_echoed_an_error_shows_its_values(database_url: str) -> None:
    assert SECRET in await error_of(database_url, echo=True)
