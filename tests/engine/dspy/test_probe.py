"""`probe_language_model`: one tiny call, a verdict, never an exception or a secret."""

from __future__ import annotations

from dspex_gql.engine.adapters.dspy import probe_language_model
from tests.engine.dspy.helpers import spec_for
from tests.engine.dspy.test_failures import closed_port
from tests.support.fake_lm import FakeLM

SECRET = "sk-probe-secret-77aa"


async def test_a_working_model_passes(fake: FakeLM) -> None:
    check = await probe_language_model(spec_for(fake))

    assert check.ok
    assert check.error is None
    assert check.latency_ms > 0
    [body] = fake.stats.bodies
    assert body["max_completion_tokens"] == 1
    assert body["messages"] == [{"role": "user", "content": "ping"}]


async def test_a_wrong_key_fails_without_showing_it() -> None:
    with FakeLM(api_key="sk-the-right-one") as fake:
        check = await probe_language_model(spec_for(fake, api_key=SECRET))

    assert not check.ok
    assert check.error == (
        "the language model 'fast' (openai/fake-model) rejected the API key (HTTP 401): "
        "Incorrect API key provided"
    )


async def test_a_server_that_is_down_fails_once_without_retrying() -> None:
    spec = spec_for(None, base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key=SECRET)

    check = await probe_language_model(spec)

    assert not check.ok
    assert check.error is not None
    assert check.error.startswith("the language model 'fast' (openai/fake-model) could not be")
    assert "attempts" not in check.error


async def test_a_hanging_model_fails_after_the_probe_timeout(fake: FakeLM) -> None:
    fake.hang_next(seconds=1)

    check = await probe_language_model(spec_for(fake), timeout_seconds=0.2)

    assert not check.ok
    assert check.error == (
        "the language model 'fast' (openai/fake-model) did not answer within 0.2 s"
    )
    assert check.latency_ms < 1000


async def test_a_model_dspy_cannot_use_fails_with_its_reason() -> None:
    spec = spec_for(None, model="openai/", base_url="http://127.0.0.1:1/v1", api_key=SECRET)

    check = await probe_language_model(spec)

    assert not check.ok
    assert check.error is not None
    assert check.error.startswith("'fast' (openai/) cannot be used: model 'openai/' has a provider")
    assert SECRET not in check.error
