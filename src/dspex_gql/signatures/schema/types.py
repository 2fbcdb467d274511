from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.listing import Condition
from dspex_gql.engine import signatures as engine
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.policies import Visibility
from dspex_gql.signatures import models
from dspex_gql.signatures.models import SignatureStatus

if TYPE_CHECKING:
    from dspex_gql.programs.schema import Program

strawberry.enum(SignatureStatus)
strawberry.enum(Visibility)

ProgramType = Annotated["Program", strawberry.lazy("dspex_gql.programs.schema")]


@strawberry.type
class SignatureField:
    name: str
    type: str
    description: str | None

    @classmethod
    def of(cls, field: engine.SignatureField | dict[str, Any]) -> SignatureField:
        if isinstance(field, dict):
            return cls(name=field["name"], type=field["type"], description=field.get("description"))
        return cls(name=field.name, type=field.type, description=field.description)


def _inputs(root: Any) -> list[SignatureField]:
    """Made when asked for: a page of 1,000 programs' `signature { id name }` builds none."""
    return [SignatureField.of(field) for field in root.input_fields]


def _outputs(root: Any) -> list[SignatureField]:
    return [SignatureField.of(field) for field in root.output_fields]


@strawberry.type
class Signature:
    id: strawberry.ID
    name: str
    description: str | None
    spec: str
    instructions: str | None
    inputs: list[SignatureField] = strawberry.field(resolver=_inputs)
    outputs: list[SignatureField] = strawberry.field(resolver=_outputs)
    version: str
    status: SignatureStatus
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    created_by: strawberry.Private[UUID | None]
    input_fields: strawberry.Private[list[Any]]
    output_fields: strawberry.Private[list[Any]]

    @strawberry.field(description="The user who created the signature.")
    async def owner(self, info: Info) -> User | None:
        return await user_by_id(info, self.created_by)

    @strawberry.field(description="Programs bound to this signature, archived ones included.")
    async def program_count(self, info: Info) -> int:
        count: int = await info.context.loaders.signature_program_count.load(
            to_uuid(self.id, "Signature")
        )
        return count

    @strawberry.field
    async def programs(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[ProgramType]:
        from dspex_gql.programs.schema import Program

        within = Condition("signature_id", "eq", to_uuid(self.id, "Signature"))
        request = list_request(info, first=first, after=after, within=within)
        return await connection(info.context.services.programs, request, Program.of)

    @classmethod
    def of(cls, signature: models.Signature) -> Signature:
        return cls(
            id=strawberry.ID(str(signature.id)),
            name=signature.name,
            description=signature.description,
            spec=signature.spec,
            instructions=signature.instructions,
            input_fields=signature.inputs,
            output_fields=signature.outputs,
            version=signature.version,
            status=signature.status,
            visibility=signature.visibility,
            created_at=signature.created_at,
            updated_at=signature.updated_at,
            created_by=signature.created_by,
        )


@strawberry.type(description="A spec checked and written in canonical form; nothing is stored.")
class ParsedSignature:
    spec: str
    inputs: list[SignatureField]
    outputs: list[SignatureField]
