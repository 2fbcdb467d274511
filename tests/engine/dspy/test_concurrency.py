"""Runs are truly async: HTTP on the event loop, prompt cancellation, per-model limits."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dspex_gql.engine.adapters.dspy.limiter import ModelLimiter, TokenBucket, limiter_for
from tests.engine.dspy.helpers import KNOWLEDGE, fast_adapter, request_for, spec_for
from tests.support.fake_lm import FakeLM
from tests.support.pubsub import eventually


async def in_flight(fake: FakeLM) -> bool:
    return fake.stats.in_flight > 0


async def test_cancelling_a_run_interrupts_its_call_promptly(fake: FakeLM) -> None:
    fake.hang_next(seconds=1.5)
    task = asyncio.create_task(fast_adapter().run(request_for(spec_for(fake))))
    await eventually(lambda: in_flight(fake))

    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.perf_counter() - started < 1
    assert fake.stats.requests == 1


async def test_a_model_s_max_concurrency_bounds_calls_in_flight() -> None:
    with FakeLM(KNOWLEDGE, learner=False, latency_ms=40) as fake:
        spec = spec_for(fake, max_concurrency=3)

        results = await asyncio.gather(*(fast_adapter().run(request_for(spec)) for _ in range(20)))

        assert all(result.outputs == {"answer": "4"} for result in results)
        assert fake.stats.requests == 20
        assert fake.stats.max_in_flight == 3


def test_http_runs_on_the_event_loop_not_in_worker_threads() -> None:
    """With one worker thread, 20 calls of 300 ms each finish together: no thread per call
    (DSPy does hop to a worker briefly to prepare and to price each call, not for the I/O)."""

    async def twenty_concurrent_calls(fake: FakeLM) -> float:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        spec = spec_for(fake, max_concurrency=20)
        started = time.perf_counter()
        await asyncio.gather(*(fast_adapter().run(request_for(spec)) for _ in range(20)))
        return time.perf_counter() - started

    with FakeLM(KNOWLEDGE, learner=False, latency_ms=300) as fake:
        elapsed = asyncio.run(twenty_concurrent_calls(fake))

    assert fake.stats.max_in_flight == 20
    assert elapsed < 2  # one at a time would take 6 s


async def test_the_token_bucket_spaces_requests_beyond_its_burst() -> None:
    bucket = TokenBucket(per_minute=120)  # 2 a second, a burst of 20
    started = time.perf_counter()

    for _ in range(21):
        await bucket.take()

    assert 0.4 < time.perf_counter() - started < 1


async def test_a_limiter_releases_its_slot_when_cancelled_waiting() -> None:
    limiter = ModelLimiter(max_concurrency=1, requests_per_minute=1)
    async with limiter:
        pass
    waiting = asyncio.create_task(limiter.__aenter__())
    await asyncio.sleep(0.01)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert not limiter._slots.locked()


def test_limiters_are_shared_by_model_and_renewed_when_limits_change() -> None:
    spec = spec_for(None, max_concurrency=2)

    assert limiter_for(spec) is limiter_for(spec)
    assert limiter_for(spec).limits == (2, None)
    renewed = limiter_for(spec_for(None, id=spec.id, max_concurrency=4, requests_per_minute=60))
    assert renewed.limits == (4, 60)
    assert limiter_for(spec) is not renewed


def test_calls_from_worker_threads_are_retried_and_bounded() -> None:
    """DSPy's optimizers call the model synchronously from their threads: those calls get the
    model's thread allowance and retries of transient failures too."""
    from dspex_gql.engine.adapters.dspy.lm import language_model
    from dspex_gql.engine.adapters.dspy.loader import load_dspy_sync

    load_dspy_sync()
    with FakeLM(KNOWLEDGE, learner=False, latency_ms=30) as fake:
        lm = language_model(spec_for(fake, id="threads", max_concurrency=2), {})
        fake.fail_next(429)
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: lm("ping"), range(6)))

    assert len(answers) == 6
    assert fake.stats.requests == 7, "the rate-limited call was retried once"
    assert fake.stats.max_in_flight <= 2
