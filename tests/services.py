"""The external services tests may use, and what happens when one is not configured."""

from __future__ import annotations

import os

import pytest

POSTGRES = "DSPEX_TEST_DATABASE_URL"
REDIS = "DSPEX_TEST_REDIS_URL"
REQUIRE_ALL = "DSPEX_TEST_REQUIRE_SERVICES"


def service_url(variable: str, what: str) -> str:
    """The url in `variable`; if unset, skip the test (or fail it, where CI requires all)."""
    url = os.environ.get(variable)
    if url:
        return url
    message = f"{what} tests skipped: set {variable}"
    if os.environ.get(REQUIRE_ALL):
        pytest.fail(f"{message} ({REQUIRE_ALL} is set, so nothing may be skipped)")
    pytest.skip(message)
