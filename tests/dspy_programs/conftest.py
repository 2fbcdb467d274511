"""Real DSPy programs through GraphQL, against the fake LM server on loopback (never the
internet): a language model pointing at it, and `dspy` programs naming that model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.factories import errors, unique
from tests.support.fake_lm import FakeLM
from tests.support.http_client import GraphQLClient

API_KEY = "sk-test-0123456789abcdef-secret"
KNOWLEDGE = {f"What is {a} plus {b}?": {"answer": str(a + b)} for a in range(1, 5) for b in (2, 7)}
QUESTIONS = sorted(KNOWLEDGE)

LANGUAGE_MODEL = """
fragment LanguageModelParts on LanguageModel {
  id name model baseUrl hasApiKey defaults promptPricePerMillion completionPricePerMillion
  maxConcurrency requestsPerMinute visibility
}
"""


@pytest.fixture
def fake_lm() -> Iterator[FakeLM]:
    with FakeLM(knowledge=KNOWLEDGE, api_key=API_KEY) as server:
        yield server


async def create_language_model(
    client: GraphQLClient, fake: FakeLM, **fields: Any
) -> dict[str, Any]:
    given = {
        "name": unique("lm"),
        "model": "openai/fake",
        "baseUrl": fake.base_url,
        "apiKey": API_KEY,
        "defaults": {"temperature": 0.0},
        "promptPricePerMillion": 1.0,
        "completionPricePerMillion": 2.0,
    } | fields
    data = await client.data(
        LANGUAGE_MODEL
        + "mutation($input: CreateLanguageModelInput!) { createLanguageModel(input: $input) {"
        + " __typename ...LanguageModelParts "
        + errors("ValidationError")
        + "} }",
        input=given,
    )
    result: dict[str, Any] = data["createLanguageModel"]
    assert result["__typename"] == "LanguageModel", result
    return result


def training_data(questions: list[str] | None = None) -> list[dict[str, Any]]:
    return [
        {"inputs": {"question": question}, "expected": dict(KNOWLEDGE[question])}
        for question in questions or QUESTIONS
    ]
