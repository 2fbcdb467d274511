from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import func, select

from dspex_gql import policies
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import TenantRepository, flush_unique
from dspex_gql.errors import Conflict
from dspex_gql.programs.models import Program
from dspex_gql.signatures.models import Signature, SignatureStatus


class SignatureRepository(TenantRepository[Signature]):
    model = Signature
    resource = "Signature"
    listing = Listing(
        fields={
            "name": Signature.name,
            "status": Signature.status,
            "version": Signature.version,
            "visibility": Signature.visibility,
            "created_at": Signature.created_at,
            "updated_at": Signature.updated_at,
        },
        id=Signature.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    async def find_by_name(self, name: str, version: str) -> Signature | None:
        query = self._select().where(Signature.name == name, Signature.version == version)
        return (await self.session.scalars(query)).one_or_none()

    async def versions_of(self, name: str) -> set[str]:
        query = select(Signature.version).where(
            Signature.organization_id == self.organization_id, Signature.name == name
        )
        return set(await self.session.scalars(query))

    async def find_usable_by_spec(self, spec: str) -> Signature | None:
        query = (
            self._select()
            .where(Signature.spec == spec, Signature.status != SignatureStatus.DEPRECATED)
            .order_by(Signature.created_at)
            .limit(1)
        )
        return (await self.session.scalars(query)).one_or_none()

    async def program_counts(
        self, ids: Iterable[UUID], *, visible_only: bool = True
    ) -> dict[UUID, int]:
        """Programs bound to each signature: those the reader can see, or all of them."""
        query = (
            select(Program.signature_id, func.count())
            .where(Program.organization_id == self.organization_id)
            .where(Program.signature_id.in_(set(ids)))
            .group_by(Program.signature_id)
        )
        visible = policies.readable(self.reader, Program) if visible_only else None
        if visible is not None:
            query = query.where(visible)
        return {row[0]: row[1] for row in await self.session.execute(query)}

    async def save_unique(self, signature: Signature) -> Signature:
        """Flush, turning a (name, version) collision that raced past our check into a Conflict."""
        await flush_unique(self.session, _duplicate(signature.name, signature.version))
        return signature

    async def delete(self, signature: Signature) -> None:
        await self.session.delete(signature)
        await self.session.flush()


def _duplicate(name: str, version: str) -> Conflict:
    return Conflict(f"A signature named {name!r} with version {version!r} already exists")
