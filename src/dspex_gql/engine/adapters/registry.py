"""Adapters by name: `AdapterRegistry.default().get("mock")`."""

from __future__ import annotations

from dspex_gql.engine.adapters.base import Adapter
from dspex_gql.engine.adapters.dspy import DspyAdapter
from dspex_gql.engine.adapters.mock import MockAdapter


class NotRegistered(KeyError):
    """An unknown name; unlike a bare KeyError, `str()` is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0])


class AdapterRegistry:
    def __init__(self) -> None:
        self._adapters: dict[str, Adapter] = {}

    @classmethod
    def default(cls) -> AdapterRegistry:
        registry = cls()
        registry.register(MockAdapter())
        registry.register(DspyAdapter())  # imports dspy on its first run, not here
        return registry

    def register(self, adapter: Adapter) -> None:
        if adapter.name in self._adapters:
            raise ValueError(f"an adapter named '{adapter.name}' is already registered")
        self._adapters[adapter.name] = adapter

    def get(self, name: str) -> Adapter:
        try:
            return self._adapters[name]
        except KeyError:
            available = ", ".join(self.names()) or "none"
            raise NotRegistered(f"unknown adapter '{name}'; available: {available}") from None

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def __contains__(self, name: object) -> bool:
        return name in self._adapters
