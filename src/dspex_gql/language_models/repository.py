from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, true

from dspex_gql import policies
from dspex_gql.db.listing import Listing, SortKey
from dspex_gql.db.repository import TenantRepository, flush_unique
from dspex_gql.engine.language_models import LM_ADAPTER, LM_KEY
from dspex_gql.errors import Conflict
from dspex_gql.language_models.models import LanguageModel
from dspex_gql.programs.models import Program, ProgramStatus


@dataclass(frozen=True)
class ProgramUsing:
    """A live program whose configuration names a language model."""

    name: str
    readable: bool
    """Whether the repository's reader may see the program (and so its name)."""


class LanguageModelRepository(TenantRepository[LanguageModel]):
    model = LanguageModel
    resource = "LanguageModel"
    listing = Listing(
        fields={
            "name": LanguageModel.name,
            "model": LanguageModel.model,
            "visibility": LanguageModel.visibility,
            "created_at": LanguageModel.created_at,
            "updated_at": LanguageModel.updated_at,
        },
        id=LanguageModel.id,
        default_order=(SortKey("created_at", descending=True),),
    )

    async def name_taken(self, name: str) -> bool:
        """By any model of the organization, whoever may see it: names are unique in it."""
        query = select(LanguageModel.id).where(
            LanguageModel.organization_id == self.organization_id, LanguageModel.name == name
        )
        return (await self.session.scalars(query.limit(1))).first() is not None

    async def named(self, names: Iterable[str]) -> list[LanguageModel]:
        """The models with these names that the reader may see."""
        query = self._select().where(LanguageModel.name.in_(set(names)))
        return list(await self.session.scalars(query))

    async def programs_using(self, name: str) -> list[ProgramUsing]:
        """Live (not archived) `dspy` programs of the organization, whoever may see them, whose
        configuration names the model. The JSON is read here, alike on SQLite and PostgreSQL."""
        visible = policies.readable(self.reader, Program)
        readable = true() if visible is None else visible
        query = (
            select(Program.name, Program.configuration, readable.label("readable"))
            .where(Program.organization_id == self.organization_id)
            .where(Program.adapter == LM_ADAPTER, Program.status != ProgramStatus.ARCHIVED)
            .order_by(Program.name, Program.id)
        )
        rows = await self.session.execute(query)
        return [
            ProgramUsing(row.name, bool(row.readable))
            for row in rows
            if isinstance(row.configuration, dict) and row.configuration.get(LM_KEY) == name
        ]

    async def save_unique(self, model: LanguageModel) -> LanguageModel:
        """Flush, turning a name that raced past `name_taken` into a Conflict."""
        await flush_unique(self.session, name_taken(model.name))
        return model

    async def delete(self, model: LanguageModel) -> None:
        await self.session.delete(model)
        await self.session.flush()


def name_taken(name: str) -> Conflict:
    return Conflict(f"A language model named {name!r} already exists")
