"""Object fields that are one DataLoader lookup of an attribute of their parent, e.g. a program's
`signature`. Declared once, a lookup resolves the field for one parent as any resolver does, and
tells `graphql/execution.py` how to resolve it for a whole list at once: one `load_many` for
every item, then the nested object's plain fields completed in the same loop as the list's.

    SIGNATURE = Lookup("program_signature", "signature_id", Signature.of)

    @strawberry.field(metadata=SIGNATURE.metadata)
    async def signature(self, info: Info) -> Signature:
        return await SIGNATURE.resolve(self, info)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

METADATA_KEY = "dspex_lookup"


@dataclass(frozen=True)
class Lookup:
    loader: str
    """The name of the request's DataLoader (`graphql/loaders.Loaders`)."""
    key: str
    """The parent's attribute that is the loader's key (None: the field is null)."""
    wrap: Callable[[Any], Any]
    """From what the loader gives to the field's GraphQL object (not called on None)."""

    @property
    def metadata(self) -> Mapping[str, Any]:
        return {METADATA_KEY: self}

    async def resolve(self, parent: Any, info: Any) -> Any:
        key = getattr(parent, self.key)
        if key is None:
            return None
        return self.wrapped(await getattr(info.context.loaders, self.loader).load(key))

    async def load_all(self, context: Any, keys: list[Any]) -> list[Any]:
        """What the field is for each key, loaded at once (unwrapped: see `wrapped`)."""
        wanted = [key for key in keys if key is not None]
        found = iter(await getattr(context.loaders, self.loader).load_many(wanted))
        return [None if key is None else next(found) for key in keys]

    def wrapped(self, value: Any) -> Any:
        return None if value is None else self.wrap(value)


def lookup_of(strawberry_field: Any) -> Lookup | None:
    metadata = getattr(strawberry_field, "metadata", None) or {}
    found = metadata.get(METADATA_KEY)
    return found if isinstance(found, Lookup) else None
