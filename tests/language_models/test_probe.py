"""`testLanguageModel`: one tiny call through the service's probe, with the model's spec."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from dspex_gql.config import Settings
from dspex_gql.engine.language_models import LanguageModelSpec, ModelCheck
from dspex_gql.language_models import service
from tests.language_models.helpers import API_KEY, TEST, audit_rows, language_model, run
from tests.support.app import running
from tests.support.fake_lm import FakeLM
from tests.support.http_client import GraphQLClient
from tests.support.people import member
from tests.support.tenants import new_tenant

ANSWER = ModelCheck(ok=True, latency_ms=12.5)


@dataclass
class RecordingProbe:
    answer: ModelCheck = ANSWER
    delay: float = 0.0
    specs: list[LanguageModelSpec] = field(default_factory=list)

    async def __call__(self, spec: LanguageModelSpec) -> ModelCheck:
        self.specs.append(spec)
        await asyncio.sleep(self.delay)
        return self.answer


@pytest.fixture
def probe() -> RecordingProbe:
    return RecordingProbe()


@pytest.fixture
async def probed(settings: Settings, probe: RecordingProbe) -> AsyncIterator[GraphQLClient]:
    """The admin of an organization on an app whose probe is `probe`."""
    async with running(settings, probe_language_model=probe) as app:
        key = (await new_tenant(app)).admin_key
        async with GraphQLClient.for_app(app, key) as client:
            yield client


class TestTheProbe:
    async def test_a_model_that_answers_is_ok(self, client: GraphQLClient) -> None:
        with FakeLM(api_key=API_KEY) as fake:
            created = await language_model(
                client, model="openai/fake", baseUrl=fake.base_url, apiKey=API_KEY
            )

            result = await run(client, TEST, id=created["id"])

        assert result["ok"] is True, result
        assert result["error"] is None
        assert result["latencyMs"] > 0
        assert fake.stats.requests == 1

    async def test_a_wrong_key_is_a_clear_failure_that_shows_no_key(
        self, client: GraphQLClient
    ) -> None:
        wrong = "sk-wrong-0123456789abcdef"
        with FakeLM(api_key=API_KEY) as fake:
            created = await language_model(
                client, model="openai/fake", baseUrl=fake.base_url, apiKey=wrong
            )

            result = await run(client, TEST, id=created["id"])

        assert result["ok"] is False
        assert "key" in result["error"].lower(), result
        assert wrong not in result["error"]

    async def test_an_unreachable_model_is_a_failure(self, client: GraphQLClient) -> None:
        with FakeLM() as fake:
            url = fake.base_url
        created = await language_model(client, model="openai/fake", baseUrl=url, apiKey=API_KEY)

        result = await run(client, TEST, id=created["id"])

        assert result["ok"] is False
        assert result["error"]

    async def test_the_probe_gets_the_spec_with_its_key(
        self, probed: GraphQLClient, probe: RecordingProbe
    ) -> None:
        created = await language_model(
            probed,
            name="fast",
            baseUrl="http://127.0.0.1:8080/v1",
            apiKey=API_KEY,
            defaults={"temperature": 0.2},
            promptPricePerMillion=0.15,
            completionPricePerMillion=0.6,
            maxConcurrency=3,
            requestsPerMinute=120,
        )

        result = await run(probed, TEST, id=created["id"])

        assert result == {
            "__typename": "LanguageModelCheck",
            "ok": True,
            "latencyMs": 12.5,
            "error": None,
        }
        [spec] = probe.specs
        assert spec == LanguageModelSpec(
            id=created["id"],
            revision=spec.revision,
            name="fast",
            model="openai/gpt-4o-mini",
            base_url="http://127.0.0.1:8080/v1",
            api_key=API_KEY,
            defaults={"temperature": 0.2},
            prompt_price_per_million=0.15,
            completion_price_per_million=0.6,
            max_concurrency=3,
            requests_per_minute=120,
        )
        assert datetime.fromisoformat(spec.revision) == datetime.fromisoformat(created["updatedAt"])
        assert API_KEY not in repr(spec)

    async def test_a_failed_check_is_an_answer(
        self, probed: GraphQLClient, probe: RecordingProbe
    ) -> None:
        probe.answer = ModelCheck(ok=False, latency_ms=80, error="401 Unauthorized")
        created = await language_model(probed)

        result = await run(probed, TEST, id=created["id"])

        assert (result["ok"], result["latencyMs"], result["error"]) == (
            False,
            80.0,
            "401 Unauthorized",
        )

    async def test_a_probe_that_does_not_answer_in_time(
        self, probed: GraphQLClient, probe: RecordingProbe, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "PROBE_TIMEOUT_SECONDS", 0.05)
        probe.delay = 5
        created = await language_model(probed)

        result = await run(probed, TEST, id=created["id"])

        assert (result["ok"], result["error"]) == (False, "no answer within 0.05 s")

    async def test_unknown_ids_are_not_found_and_nothing_is_called(
        self, probed: GraphQLClient, probe: RecordingProbe
    ) -> None:
        for id in ("00000000-0000-4000-8000-000000000000", "nope"):
            result = await run(probed, TEST, id=id)
            assert (result["__typename"], result["id"]) == ("NotFoundError", id)
        assert probe.specs == []

    async def test_users_test_models_they_read_viewers_none(
        self, probed: GraphQLClient, probe: RecordingProbe
    ) -> None:
        alice = await member(probed, "USER")
        vera = await member(probed, "VIEWER")
        shared = await language_model(probed, visibility="ORGANIZATION")
        private = await language_model(probed)

        by_alice = await run(alice.client, TEST, id=shared["id"])
        hidden = await run(alice.client, TEST, id=private["id"])
        by_vera = await run(vera.client, TEST, id=shared["id"])

        assert by_alice["ok"] is True
        assert hidden["__typename"] == "NotFoundError"
        assert by_vera["__typename"] == "ForbiddenError"
        assert by_vera["message"] == "Viewers cannot test language models"
        assert len(probe.specs) == 1

    async def test_each_test_is_audited(self, probed: GraphQLClient) -> None:
        created = await language_model(probed)

        await run(probed, TEST, id=created["id"])

        rows = await audit_rows(probed, "languageModel.test")
        assert [(row["resourceId"], row["changes"]) for row in rows] == [
            (created["id"], {"ok": True})
        ]
