from __future__ import annotations

import enum

import strawberry

from dspex_gql.engine import signatures as engine
from dspex_gql.graphql.filters import DateTimeFilter, EnumFilter, Order, StringFilter, filter_field
from dspex_gql.graphql.inputs import provided
from dspex_gql.policies import Visibility
from dspex_gql.signatures.models import SignatureStatus
from dspex_gql.signatures.service import NewSignature, SignatureChanges


@strawberry.input
class SignatureFieldInput:
    name: str
    type: str = "str"
    description: str | None = None

    def to_field(self) -> engine.SignatureField:
        return engine.SignatureField(name=self.name, type=self.type, description=self.description)


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
