"""Whether the shared buckets' store answers: one warning when it stops, one info line when it is
back.

While it is down, takes count in this process's buckets instead (a limiter must not take the API
down, nor vanish with Redis), and the store is asked again at most every `retry_seconds`, so no
request waits for its timeout more than once in a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Outage:
    def __init__(
        self, where: str, retry_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._where = where
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._since: float | None = None
        self._next_try = 0.0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def skip(self) -> bool:
        """During an outage, until it is time to ask the store again."""
        return self._since is not None and self._clock() < self._next_try

    def failed(self, error: BaseException) -> None:
        now = self._clock()
        self._next_try = now + self._retry_seconds
        if self._since is None:
            self._since = now
            logger.warning(
                "rate limits are counted per process: Redis at %s does not answer (%s); each "
                "replica allows the whole budget until it does",
                self._where,
                _described(error),
            )

    def answered(self) -> None:
        if self._since is not None:
            down = self._clock() - self._since
            self._since = None
            logger.info(
                "rate limits are shared again: Redis at %s answers (down %.1f s)",
                self._where,
                down,
            )


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
