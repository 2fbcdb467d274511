"""The external services and programs tests may use, and what happens when one is missing."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

POSTGRES = "DSPEX_TEST_DATABASE_URL"
REDIS = "DSPEX_TEST_REDIS_URL"
REQUIRE_ALL = "DSPEX_TEST_REQUIRE_SERVICES"

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
"""A test (or class, or module with `pytestmark`) run on PostgreSQL only, not on each database:
skipped where DSPEX_TEST_DATABASE_URL is unset, as every PostgreSQL test."""


def service_url(variable: str, what: str) -> str:
    """The url in `variable`; if unset, skip the test (or fail it, where CI requires all)."""
    url = os.environ.get(variable)
    if not url:
        missing(f"{what} tests skipped: set {variable}")
    return url


def installed_program(name: str, install: str) -> str:
    """The path of program `name`; if not installed, skip (or fail, where CI requires all)."""
    path = shutil.which(name)
    if not path:
        missing(f"{name} tests skipped: {name} is not installed ({install})")
    return path


def missing(message: str) -> NoReturn:
    if os.environ.get(REQUIRE_ALL):
        pytest.fail(f"{message} ({REQUIRE_ALL} is set, so nothing may be skipped)")
    pytest.skip(message)
