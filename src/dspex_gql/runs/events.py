"""Events about runs, built in one place: from the columns of the run's row as stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self
from uuid import UUID

from dspex_gql.pubsub import Event


class RunEvent(Event):
    """A run's state as stored: every field is a column of the run's row of the same name.

    Small by design: results are read from the store, which is never behind an event.
    """

    id: UUID

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """What a write returns so that its event can be built (`RunRepository.record`)."""
        return tuple(cls.model_fields)

    @classmethod
    def of(cls, row: Any) -> Self:
        """From a stored row, or the columns a write returned."""
        return cls(**{name: getattr(row, name) for name in cls.model_fields})

    @property
    def key(self) -> str:
        return str(self.id)

    def channels(self) -> Sequence[str]:
        """Where it is published."""
        raise NotImplementedError(f"{type(self).__name__} must name its channels")
