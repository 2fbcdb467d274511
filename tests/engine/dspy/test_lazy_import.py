"""Importing the app (and registering the dspy adapter) imports neither dspy nor litellm; a run
imports dspy but still not litellm (DSPy's native OpenAI route)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def run_python(code: str, **environment: str) -> str:
    environment = os.environ | {"LITELLM_LOCAL_MODEL_COST_MAP": "True"} | environment
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_app_and_the_registry_imports_neither_dspy_nor_litellm() -> None:
    output = run_python(
        """
        import sys
        import dspex_gql.app
        from dspex_gql.engine.adapters import AdapterRegistry
        registry = AdapterRegistry.default()
        registry.get("dspy").check_configuration({"lm": "fast"})
        registry.get("dspy").implementation_names()
        print(registry.names(), "dspy" in sys.modules, "litellm" in sys.modules)
        """
    )

    assert output == "['dspy', 'mock'] False False"


@pytest.mark.parametrize("api_base", ["", "http://127.0.0.1:1/v1"])
def test_a_run_imports_dspy_but_not_litellm(api_base: str) -> None:
    """Not even when OPENAI_API_BASE is set, which makes DSPy's "auto" engine pick LiteLLM."""
    output = run_python(
        """
        import asyncio, sys
        from tests.engine.dspy.helpers import KNOWLEDGE, fast_adapter, request_for, spec_for
        from tests.support.fake_lm import FakeLM

        with FakeLM(KNOWLEDGE, learner=False) as fake:
            result = asyncio.run(fast_adapter().run(request_for(spec_for(fake))))
        print(result.outputs, "dspy" in sys.modules, "litellm" in sys.modules)
        """,
        OPENAI_API_BASE=api_base,
    )

    assert output == "{'answer': '4'} True False"


def test_without_dspy_installed_runs_and_checks_say_how_to_install_it() -> None:
    output = run_python(
        """
        import asyncio, sys
        sys.modules["dspy"] = None  # as if the extra were not installed
        from dspex_gql.engine.adapters import AdapterError, ProgramType
        from dspex_gql.engine.adapters.dspy import module_problems
        from tests.engine.dspy.helpers import QA, fast_adapter, request_for, spec_for

        try:
            asyncio.run(fast_adapter().run(request_for(spec_for(None))))
        except AdapterError as error:
            print(error)
        print(module_problems(ProgramType.PREDICT, QA, None, {}, None, None))
        """
    )

    hint = "the dspy adapter needs DSPy: pip install 'dspex-gql[dspy]'"
    assert output == f"{hint}\n[{hint!r}]"
