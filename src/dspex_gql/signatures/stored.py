"""A stored signature as the engine's, for every resource that runs or checks a program."""

from __future__ import annotations

from dspex_gql.engine import signatures as engine
from dspex_gql.signatures.models import Signature


def engine_signature(signature: Signature) -> engine.ParsedSignature:
    return engine.ParsedSignature(
        inputs=tuple(engine.SignatureField(**field) for field in signature.inputs),
        outputs=tuple(engine.SignatureField(**field) for field in signature.outputs),
    )
