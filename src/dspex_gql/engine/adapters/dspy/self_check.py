"""An example CUSTOM dspy module (entry point `self_check`): draft, check, revise once.

Imports dspy: the registry loads it only after `load_dspy()`.
"""

from __future__ import annotations

import json
from typing import Any

import dspy


class SelfCheck(dspy.Module):  # type: ignore[misc]
    """Answer with a chain of thought, ask the model whether the draft is right, and when the
    check says it is not, answer once more with the check's feedback."""

    def __init__(self, signature: Any) -> None:
        super().__init__()
        self.output_names = list(signature.output_fields)
        self.draft = dspy.ChainOfThought(signature)
        self.check = dspy.Predict(_check_signature(signature))
        self.revise = dspy.ChainOfThought(_revise_signature(signature))

    async def aforward(self, **inputs: Any) -> Any:
        draft = await self.draft.acall(**inputs)
        shown = json.dumps({name: draft[name] for name in self.output_names}, default=str)
        verdict = await self.check.acall(**inputs, draft=shown)
        if verdict.correct:
            return draft
        return await self.revise.acall(**inputs, draft=shown, feedback=verdict.feedback)


def _check_signature(signature: Any) -> Any:
    task = signature.instructions
    return dspy.Signature(
        {
            **signature.input_fields,
            "draft": dspy.InputField(desc="a proposed answer, as JSON"),
            "correct": dspy.OutputField(desc="true when the draft answers the task correctly"),
            "feedback": dspy.OutputField(desc="what is wrong with the draft, if anything"),
        },
        f"Check a draft answer to this task.\n\nTask: {task}",
    ).with_updated_fields("correct", type_=bool)


def _revise_signature(signature: Any) -> Any:
    return signature.append(
        "draft", dspy.InputField(desc="an earlier answer, as JSON"), type_=str
    ).append("feedback", dspy.InputField(desc="why the earlier answer is wrong"), type_=str)
