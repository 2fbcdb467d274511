"""Transient failures are retried with backoff; the others fail at once with a clear message."""

from __future__ import annotations

import socket
import time

import pytest

from dspex_gql.engine.adapters import AdapterError
from tests.engine.dspy.helpers import TYPED, fast_adapter, request_for, spec_for
from tests.support.fake_lm import FakeLM


async def test_a_rate_limit_is_retried_and_gives_one_result(fake: FakeLM) -> None:
    fake.fail_next(429)

    result = await fast_adapter().run(request_for(spec_for(fake)))

    assert result.outputs == {"answer": "4"}
    assert fake.stats.requests == 2
    assert result.trace is not None
    assert [call["attempt"] for call in result.trace["calls"]] == [1, 2]
    assert result.trace["calls"][0]["error"] == "LMRateLimitError"


async def test_server_errors_are_retried(fake: FakeLM) -> None:
    fake.fail_next(500, times=2)

    result = await fast_adapter().run(request_for(spec_for(fake)))

    assert result.outputs == {"answer": "4"}
    assert fake.stats.requests == 3


async def test_exhausted_retries_fail_the_run(fake: FakeLM) -> None:
    fake.fail_next(503, times=3)
    request = request_for(spec_for(fake), configuration={"max_retries": 2})

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    assert str(caught.value) == (
        "the language model 'fast' (openai/fake-model) failed (HTTP 503): "
        "scripted failure 503 (after 3 attempts)"
    )
    assert fake.stats.requests == 3


async def test_max_retries_zero_tries_once(fake: FakeLM) -> None:
    fake.fail_next(429)
    request = request_for(spec_for(fake), configuration={"max_retries": 0})

    with pytest.raises(AdapterError, match=r"rate-limited the request \(HTTP 429\)"):
        await fast_adapter().run(request)

    assert fake.stats.requests == 1


async def test_a_wrong_api_key_fails_at_once_without_showing_any_key() -> None:
    with FakeLM(api_key="sk-right-key-0123456789") as fake:
        spec = spec_for(fake, api_key="sk-wrong-key-9876543210")

        with pytest.raises(AdapterError) as caught:
            await fast_adapter().run(request_for(spec))

        message = str(caught.value)
        assert message == (
            "the language model 'fast' (openai/fake-model) rejected the API key (HTTP 401): "
            "Incorrect API key provided"
        )
        assert "sk-" not in message
        assert fake.stats.requests == 1


async def test_a_bad_request_fails_at_once(fake: FakeLM) -> None:
    fake.fail_next(400)

    with pytest.raises(AdapterError, match=r"refused the request \(HTTP 400\)"):
        await fast_adapter().run(request_for(spec_for(fake)))

    assert fake.stats.requests == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_server_that_is_down_is_a_clear_failure() -> None:
    spec = spec_for(None, base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key="sk-k")
    request = request_for(spec, configuration={"max_retries": 1})

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    message = str(caught.value)
    assert message.startswith("the language model 'fast' (openai/fake-model) could not be reached")
    assert "[Errno 111]" in message  # ECONNREFUSED
    assert message.endswith("(after 2 attempts)")


async def test_a_call_that_hangs_times_out(fake: FakeLM) -> None:
    fake.hang_next(seconds=1)
    request = request_for(spec_for(fake), configuration={"timeout_seconds": 0.2, "max_retries": 0})
    started = time.perf_counter()

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    assert time.perf_counter() - started < 1
    assert str(caught.value) == (
        "the language model 'fast' (openai/fake-model) did not answer within 0.2 s"
    )


async def test_a_timed_out_call_is_retried(fake: FakeLM) -> None:
    fake.hang_next(seconds=1)
    request = request_for(spec_for(fake), configuration={"timeout_seconds": 0.2})

    result = await fast_adapter().run(request)

    assert result.outputs == {"answer": "4"}
    assert fake.stats.requests == 2


async def test_a_malformed_answer_fails_clearly_without_retrying_the_call(fake: FakeLM) -> None:
    fake.malformed_next(times=2)  # DSPy's chat adapter asks once more for JSON

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request_for(spec_for(fake), signature=TYPED))

    assert str(caught.value) == (
        "the model's answer could not be parsed: expected fields answer, confidence, count, "
        'sure, tags, label, meta; it answered: "Sorry, I can\'t follow that format."'
    )
    assert fake.stats.requests == 2


async def test_a_missing_language_model_is_named(fake: FakeLM) -> None:
    request = request_for(spec_for(fake), configuration={"lm": "slow"})

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    message = "The language model 'slow' is not available to this run; known: fast"
    assert str(caught.value) == message
    assert fake.stats.requests == 0


async def test_an_invalid_configuration_fails_before_any_call(fake: FakeLM) -> None:
    request = request_for(spec_for(fake), configuration={"temperature": 5, "max_retries": -1})

    with pytest.raises(AdapterError) as caught:
        await fast_adapter().run(request)

    assert str(caught.value) == (
        "Invalid dspy configuration: 'max_retries' must be an integer between 0 and 10, got -1; "
        "'temperature' must be a number between 0 and 2, got 5"
    )
    assert fake.stats.requests == 0


async def test_an_answer_of_the_wrong_type_is_refused() -> None:
    with FakeLM({"What is 2 + 2?": {"confidence": "very"}}, learner=False) as fake:
        signature_request = request_for(
            spec_for(fake), signature=TYPED, configuration={"max_retries": 0}
        )

        with pytest.raises(AdapterError, match="could not be parsed"):
            await fast_adapter().run(signature_request)
