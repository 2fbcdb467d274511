from __future__ import annotations

import uuid
from functools import cached_property

from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from dspex_gql.accounts.actor import Actor
from dspex_gql.config import Settings
from dspex_gql.graphql.loaders import Loaders
from dspex_gql.runtime import Runtime, Services


class Context(BaseContext):
    """Per HTTP request, or per websocket connection (then loaders don't cache across events)."""

    def __init__(
        self, runtime: Runtime, actor: Actor, *, request_id: str | None = None, cache: bool = True
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.actor = actor
        self.request_id = request_id or uuid.uuid4().hex
        self.services = Services(runtime, actor)
        self._cache = cache

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.services, cache=self._cache)


Info = StrawberryInfo[Context, None]
