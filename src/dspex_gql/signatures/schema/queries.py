from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.graphql.errors import ValidationError
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.signatures.schema.inputs import SignatureFilter, SignatureOrder
from dspex_gql.signatures.schema.types import ParsedSignature, Signature, SignatureField
from dspex_gql.signatures.specs import parse_spec

ParseSignatureResult = Annotated[
    ParsedSignature | ValidationError, strawberry.union("ParseSignatureResult")
]


@strawberry.type
class SignatureQuery:
    signature = field_by_id(Signature, lambda services: services.signatures)
    signatures = list_field(
        Signature, SignatureFilter, SignatureOrder, lambda services: services.signatures
    )

    @strawberry.field(description="Check a spec such as `question, context: list[str] -> answer`.")
    def parse_signature(self, spec: str) -> ParseSignatureResult:
        parsed = parse_spec(spec)
        return ParsedSignature(
            spec=parsed.to_spec(),
            inputs=[SignatureField.of(field) for field in parsed.inputs],
            outputs=[SignatureField.of(field) for field in parsed.outputs],
        )
