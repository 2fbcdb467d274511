"""Every dspy test talks to a `FakeLM` on loopback, never the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.dspy.helpers import KNOWLEDGE
from tests.support.fake_lm import FakeLM


@pytest.fixture
def fake() -> Iterator[FakeLM]:
    """A fake that knows `KNOWLEDGE` and always tells it."""
    with FakeLM(KNOWLEDGE, learner=False) as server:
        yield server
