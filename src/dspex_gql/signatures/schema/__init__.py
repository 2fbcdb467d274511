"""Signatures over GraphQL: types, inputs, queries, mutations."""

from __future__ import annotations

from dspex_gql.signatures.schema.inputs import (
    CreateSignatureInput,
    SignatureFieldInput,
    SignatureFilter,
    SignatureOrder,
    SignatureOrderField,
    SignatureStatusFilter,
    UpdateSignatureInput,
    VisibilityFilter,
)
from dspex_gql.signatures.schema.mutations import (
    ActivateSignatureResult,
    CreateSignatureResult,
    DeleteSignatureResult,
    DeprecateSignatureResult,
    SignatureMutation,
    UpdateSignatureResult,
)
from dspex_gql.signatures.schema.queries import ParseSignatureResult, SignatureQuery
from dspex_gql.signatures.schema.types import (
    ParsedSignature,
    ProgramType,
    Signature,
    SignatureField,
)

__all__ = [
    "ActivateSignatureResult",
    "CreateSignatureInput",
    "CreateSignatureResult",
    "DeleteSignatureResult",
    "DeprecateSignatureResult",
    "ParseSignatureResult",
    "ParsedSignature",
    "ProgramType",
    "Signature",
    "SignatureField",
    "SignatureFieldInput",
    "SignatureFilter",
    "SignatureMutation",
    "SignatureOrder",
    "SignatureOrderField",
    "SignatureQuery",
    "SignatureStatusFilter",
    "UpdateSignatureInput",
    "UpdateSignatureResult",
    "VisibilityFilter",
]
