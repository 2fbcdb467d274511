from __future__ import annotations

from functools import cached_property

from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from dspex_gql.config import Settings
from dspex_gql.graphql.loaders import Loaders
from dspex_gql.identity import Actor, Origin
from dspex_gql.runtime import Runtime, Services


class Context(BaseContext):
    """Per HTTP request, or per websocket connection (then loaders don't cache across events).

    `credential` is the `Authorization` value sent; the `Authentication` extension turns it into
    the actor before any operation that needs one runs (and, on a websocket, checks again).
    """

    def __init__(
        self,
        runtime: Runtime,
        origin: Origin,
        *,
        credential: str | None = None,
        websocket: bool = False,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.origin = origin
        self.credential = credential
        self.websocket = websocket
        self.connection_params: dict[str, object] | None = None
        self._actor: Actor | None = None
        self.counted = True
        """Whether operations run in this context count in the metrics; a shared
        subscription's sockets are counted instead (`shared_subscriptions.py`)."""

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def signed_in(self) -> bool:
        return self._actor is not None

    @property
    def actor(self) -> Actor:
        assert self._actor is not None, "the Authentication extension runs first"
        return self._actor

    def sign_in_as(self, actor: Actor) -> None:
        self._actor = actor
        self.__dict__.pop("services", None)
        self.__dict__.pop("loaders", None)

    @cached_property
    def services(self) -> Services:
        return Services(self.runtime, self.actor)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.services, cache=not self.websocket)


Info = StrawberryInfo[Context, None]
