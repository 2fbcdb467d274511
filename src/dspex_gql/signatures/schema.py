from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from dspex_gql.accounts.schema import User, user_by_id
from dspex_gql.db.enums import Visibility
from dspex_gql.db.listing import Condition
from dspex_gql.engine import signatures as engine
from dspex_gql.graphql.context import Info
from dspex_gql.graphql.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from dspex_gql.graphql.filters import (
    DateTimeFilter,
    EnumFilter,
    Order,
    StringFilter,
    filter_field,
)
from dspex_gql.graphql.ids import to_uuid
from dspex_gql.graphql.inputs import provided
from dspex_gql.graphql.pagination import Connection, connection, list_request
from dspex_gql.graphql.root_fields import field_by_id, list_field
from dspex_gql.signatures import models
from dspex_gql.signatures.models import SignatureStatus
from dspex_gql.signatures.service import NewSignature, SignatureChanges, parse_spec

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


@strawberry.input
class SignatureFieldInput:
    name: str
    type: str = "str"
    description: str | None = None

    def to_field(self) -> engine.SignatureField:
        return engine.SignatureField(name=self.name, type=self.type, description=self.description)


@strawberry.type
class Signature:
    id: strawberry.ID
    name: str
    description: str | None
    spec: str
    instructions: str | None
    inputs: list[SignatureField]
    outputs: list[SignatureField]
    version: str
    status: SignatureStatus
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
    created_by: strawberry.Private[UUID | None]

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
            inputs=[SignatureField.of(field) for field in signature.inputs],
            outputs=[SignatureField.of(field) for field in signature.outputs],
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


@strawberry.input
class SignatureFilter:
    and_: list[SignatureFilter] | None = filter_field("and")
    or_: list[SignatureFilter] | None = filter_field("or")
    not_: SignatureFilter | None = filter_field("not")
    name: StringFilter | None = filter_field()
    status: SignatureStatusFilter | None = filter_field()
    version: StringFilter | None = filter_field()
    visibility: VisibilityFilter | None = filter_field()
    created_at: DateTimeFilter | None = filter_field()
    updated_at: DateTimeFilter | None = filter_field()


@strawberry.input(name="VisibilityFilter")
class VisibilityFilter(EnumFilter[Visibility]):
    pass


@strawberry.input(name="SignatureStatusFilter")
class SignatureStatusFilter(EnumFilter[SignatureStatus]):
    pass


@strawberry.enum
class SignatureOrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(name="SignatureOrder")
class SignatureOrder(Order[SignatureOrderField]):
    pass


@strawberry.input(description="Give `spec`, or `inputs` and `outputs`.")
class CreateSignatureInput:
    name: str
    spec: str | None = None
    inputs: list[SignatureFieldInput] | None = None
    outputs: list[SignatureFieldInput] | None = None
    description: str | None = None
    instructions: str | None = None
    version: str = "1.0.0"
    visibility: Visibility = Visibility.PRIVATE

    def to_new(self) -> NewSignature:
        return NewSignature(
            name=self.name,
            spec=self.spec,
            inputs=_fields(self.inputs),
            outputs=_fields(self.outputs),
            description=self.description,
            instructions=self.instructions,
            version=self.version,
            visibility=self.visibility,
        )


@strawberry.input(description="Only the description of an ACTIVE signature can change.")
class UpdateSignatureInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    instructions: str | None = strawberry.UNSET
    version: str | None = strawberry.UNSET
    spec: str | None = strawberry.UNSET
    inputs: list[SignatureFieldInput] | None = strawberry.UNSET
    outputs: list[SignatureFieldInput] | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET

    def to_changes(self) -> SignatureChanges:
        given = provided(self)
        for side in ("inputs", "outputs"):
            if side in given:
                given[side] = _fields(given[side]) or ()
        return SignatureChanges(**given)


def _fields(fields: list[SignatureFieldInput] | None) -> tuple[engine.SignatureField, ...] | None:
    return None if fields is None else tuple(field.to_field() for field in fields)


ParseSignatureResult = Annotated[
    ParsedSignature | ValidationError, strawberry.union("ParseSignatureResult")
]
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
