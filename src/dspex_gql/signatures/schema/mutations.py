from __future__ import annotations

from typing import Annotated

import strawberry

from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.signatures.schema.inputs import CreateSignatureInput, UpdateSignatureInput
from dspex_gql.signatures.schema.types import Signature

CreateSignatureResult = Annotated[
    Signature | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("CreateSignatureResult"),
]
UpdateSignatureResult = Annotated[
    Signature | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateSignatureResult"),
]
ActivateSignatureResult = Annotated[
    Signature | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("ActivateSignatureResult"),
]
DeprecateSignatureResult = Annotated[
    Signature | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeprecateSignatureResult"),
]
DeleteSignatureResult = Annotated[
    Signature | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeleteSignatureResult"),
]


@strawberry.type
class SignatureMutation:
    @strawberry.mutation
    async def create_signature(
        self, info: Info, input: CreateSignatureInput
    ) -> CreateSignatureResult:
        return Signature.of(await info.context.services.signatures.create(input.to_new()))

    @strawberry.mutation
    async def update_signature(
        self, info: Info, id: strawberry.ID, input: UpdateSignatureInput
    ) -> UpdateSignatureResult:
        service = info.context.services.signatures
        return Signature.of(await service.update(to_uuid(id, "Signature"), input.to_changes()))

    @strawberry.mutation(description="DRAFT → ACTIVE.")
    async def activate_signature(self, info: Info, id: strawberry.ID) -> ActivateSignatureResult:
        return Signature.of(
            await info.context.services.signatures.activate(to_uuid(id, "Signature"))
        )

    @strawberry.mutation(description="ACTIVE → DEPRECATED.")
    async def deprecate_signature(self, info: Info, id: strawberry.ID) -> DeprecateSignatureResult:
        service = info.context.services.signatures
        return Signature.of(await service.deprecate(to_uuid(id, "Signature")))

    @strawberry.mutation(description="Refused while any program uses the signature.")
    async def delete_signature(self, info: Info, id: strawberry.ID) -> DeleteSignatureResult:
        return Signature.of(await info.context.services.signatures.delete(to_uuid(id, "Signature")))
