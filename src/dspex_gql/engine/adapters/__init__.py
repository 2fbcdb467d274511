"""Adapters run one program call against an LM (or the offline mock)."""

from dspex_gql.engine.adapters.base import (
    Adapter,
    AdapterError,
    AdapterRequest,
    AdapterResult,
    ProgramType,
)
from dspex_gql.engine.adapters.mock import MockAdapter
from dspex_gql.engine.adapters.registry import AdapterRegistry, NotRegistered

__all__ = [
    "Adapter",
    "AdapterError",
    "AdapterRegistry",
    "AdapterRequest",
    "AdapterResult",
    "MockAdapter",
    "NotRegistered",
    "ProgramType",
]
