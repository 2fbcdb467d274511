from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from dspex_gql.engine.adapters import AdapterRequest, ProgramType
from dspex_gql.engine.adapters.dspy import DspyAdapter
from dspex_gql.engine.adapters.dspy.retries import Backoff
from dspex_gql.engine.language_models import LanguageModelSpec
from dspex_gql.engine.signatures import ParsedSignature, parse_signature
from tests.support.fake_lm import FakeLM

QA = parse_signature('question: str "a question" -> answer: str "a short answer"')
TYPED = parse_signature(
    "question -> answer: str, confidence: float, count: int, sure: bool, "
    "tags: list[str], label: Literal['yes', 'no'], meta: dict"
)
TYPED_ANSWER = {
    "answer": "4",
    "confidence": 0.9,
    "count": 2,
    "sure": True,
    "tags": ["math", "easy"],
    "label": "yes",
    "meta": {"source": "arithmetic"},
}
KNOWLEDGE: dict[str, dict[str, Any]] = {
    "What is 2 + 2?": {
        **TYPED_ANSWER,
        "correct": True,
        "next_tool_name": "calculator",
        "next_tool_args": {"expression": "2 + 2"},
    },
    "What is the capital of France?": {"answer": "Paris"},
}


def fast_adapter() -> DspyAdapter:
    """Retries wait milliseconds, not seconds."""
    return DspyAdapter(Backoff(base_seconds=0.01, max_seconds=0.05))


def spec_for(fake: FakeLM | None, **overrides: Any) -> LanguageModelSpec:
    """A model on the fake (a new id each time: clients and limiters are cached by id)."""
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "revision": "1",
        "name": "fast",
        "model": "openai/fake-model",
        "base_url": fake.base_url if fake is not None else None,
        "api_key": fake.api_key if fake is not None else None,
    }
    return LanguageModelSpec(**(fields | overrides))


def request_for(
    spec: LanguageModelSpec,
    *,
    program_type: ProgramType = ProgramType.PREDICT,
    signature: ParsedSignature = QA,
    inputs: Mapping[str, Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    implementation: str | None = None,
    instructions: str | None = "Answer briefly.",
) -> AdapterRequest:
    return AdapterRequest(
        program_type=program_type,
        signature=signature,
        instructions=instructions,
        inputs={"question": "What is 2 + 2?"} if inputs is None else inputs,
        configuration={"lm": spec.name, **(configuration or {})},
        language_models={spec.name: spec},
        state=state,
        implementation=implementation,
    )
