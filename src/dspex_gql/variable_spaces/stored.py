"""A stored space as the engine's. It was checked against the registered modules when stored;
a module unregistered since is still a value of the space, so its own modules are the known ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dspex_gql.engine.variables import SearchSpace, build_space


def stored_space(variables: Sequence[Any], dependencies: Sequence[Any] | None) -> SearchSpace:
    modules = {
        name
        for variable in variables
        for name in variable.get("constraints", {}).get("modules", [])
    }
    return build_space(variables, dependencies or [], known_modules=modules)
