from typing import TypeVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """An immutable change notification that crosses the backend as JSON.

    Subclasses name the entity they are about with `key`, so a slow subscriber's buffer can keep
    only the latest event per entity::

        class ExecutionChanged(Event):
            id: UUID
            status: str

            @property
            def key(self) -> str:
                return str(self.id)
    """

    model_config = ConfigDict(frozen=True)

    sequence: int

    @property
    def key(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define the `key` property")


E = TypeVar("E", bound=Event)
