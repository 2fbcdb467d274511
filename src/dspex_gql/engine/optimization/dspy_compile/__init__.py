"""DSPy's own optimizers (BootstrapFewShot, MIPROv2, SIMBA, GEPA) compiling a built DSPy module.

Pure engine code: it receives a ready `dspy.Module` and `dspy.LM` and returns the compiled
program's `dump_state()`. Importing this package does not import dspy; `compile_program` does.
See `compile.py` for the run (thread, progress, budgets, cancellation), `options.py` for the
options of each optimizer and `callbacks.py` for what progress each one yields.
"""

from dspex_gql.engine.optimization.dspy_compile.compile import compile_program
from dspex_gql.engine.optimization.dspy_compile.metric import (
    dspy_feedback_metric,
    dspy_metric,
    to_dspy_examples,
)
from dspex_gql.engine.optimization.dspy_compile.model import (
    CompileFailed,
    CompileProgress,
    CompileRequest,
    CompileResult,
    CompileStopped,
    Prices,
    ProgressKind,
    StopReason,
)
from dspex_gql.engine.optimization.dspy_compile.options import (
    DspyOptimizer,
    check_options,
    read_options,
)

__all__ = [
    "CompileFailed",
    "CompileProgress",
    "CompileRequest",
    "CompileResult",
    "CompileStopped",
    "DspyOptimizer",
    "Prices",
    "ProgressKind",
    "StopReason",
    "check_options",
    "compile_program",
    "dspy_feedback_metric",
    "dspy_metric",
    "read_options",
    "to_dspy_examples",
]
