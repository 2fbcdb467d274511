"""Which buckets a process uses: Redis when DSPEX_LIMITS_REDIS_URL names one, or by default when
the pub/sub goes through Redis; else (or with `none`) its own memory."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dspex_gql.config import BroadcastSettings, LimitsSettings
from dspex_gql.ratelimit import LocalBuckets, RedisBuckets, open_buckets

REDIS_URL = "redis://cache.internal:6379/2"


@pytest.mark.parametrize(
    ("limits_url", "broadcast_url", "shared"),
    [
        (None, "memory://", None),
        (None, "postgres://postgres@db/dspex", None),
        (None, REDIS_URL, REDIS_URL),
        (None, "rediss://cache.internal:6380/0", "rediss://cache.internal:6380/0"),
        (REDIS_URL, "memory://", REDIS_URL),
        ("redis://limits:6379/0", REDIS_URL, "redis://limits:6379/0"),
        ("none", REDIS_URL, None),
    ],
)
def test_the_shared_store(limits_url: str | None, broadcast_url: str, shared: str | None) -> None:
    limits = LimitsSettings(redis_url=limits_url)

    assert limits.shared_store(BroadcastSettings(url=broadcast_url)) == shared


def test_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSPEX_LIMITS_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("DSPEX_LIMITS_REDIS_TIMEOUT_SECONDS", "0.2")

    limits = LimitsSettings()

    assert (limits.redis_url, limits.redis_timeout_seconds) == (REDIS_URL, 0.2)


def test_a_url_of_something_else_is_refused_without_its_password() -> None:
    with pytest.raises(ValidationError, match="DSPEX_LIMITS_REDIS_URL") as refused:
        LimitsSettings(redis_url="http://user:secret@cache.internal:6379")

    assert "secret" not in str(refused.value)


async def test_open_buckets_picks_them_without_connecting() -> None:
    """Nothing listens at cache.internal: opening Redis buckets only builds a client."""
    async with open_buckets(LimitsSettings(), BroadcastSettings(url="memory://")) as local:
        assert isinstance(local, LocalBuckets)
    async with open_buckets(LimitsSettings(), BroadcastSettings(url=REDIS_URL)) as shared:
        assert isinstance(shared, RedisBuckets)
