"""`AdapterRequest.for_call`: what `dataclasses.replace` gives, the original untouched."""

from __future__ import annotations

import dataclasses

from dspex_gql.engine.adapters.base import AdapterRequest, ProgramType
from dspex_gql.engine.signatures import parse_signature


def test_for_call_is_replace_with_the_calls_inputs_and_options() -> None:
    base = AdapterRequest(
        program_type=ProgramType.CHAIN_OF_THOUGHT,
        signature=parse_signature("question -> answer"),
        instructions="Answer briefly.",
        inputs={},
        configuration={"temperature": 0.2},
        state={"demos": []},
        implementation="mine",
    )

    call = base.for_call({"question": "why?"}, {"attempt": 2})

    assert call == dataclasses.replace(base, inputs={"question": "why?"}, options={"attempt": 2})
    assert type(call) is AdapterRequest
    assert (base.inputs, base.options) == ({}, {})
