"""The `dspy` adapter: programs run as real DSPy modules against configured language models.

Importing this package does not import dspy (or litellm): `load_dspy()` does, on the first run.
"""

from dspex_gql.engine.adapters.dspy.adapter import DspyAdapter
from dspex_gql.engine.adapters.dspy.lm import probe_language_model
from dspex_gql.engine.adapters.dspy.modules import (
    build_module,
    export_state,
    module_problems,
    state_problems,
)

__all__ = [
    "DspyAdapter",
    "build_module",
    "export_state",
    "module_problems",
    "probe_language_model",
    "state_problems",
]
