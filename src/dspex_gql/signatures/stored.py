"""A stored signature as the engine's, for every resource that runs or checks a program."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dspex_gql.engine import signatures as engine
from dspex_gql.signatures.models import Signature


def engine_signature(signature: Signature) -> engine.ParsedSignature:
    return fields_signature(signature.inputs, signature.outputs)


def fields_signature(
    inputs: Iterable[Mapping[str, Any]], outputs: Iterable[Mapping[str, Any]]
) -> engine.ParsedSignature:
    """The engine's signature of a stored signature's `inputs` and `outputs` columns."""
    return engine.ParsedSignature(
        inputs=tuple(engine.SignatureField(**field) for field in inputs),
        outputs=tuple(engine.SignatureField(**field) for field in outputs),
    )
