"""Our metrics and examples in DSPy's shapes.

Our metric compares two dicts, `metric(outputs, expected) -> float`; DSPy's takes an example and a
prediction. With the signature `question -> answer`:

    example = to_dspy_examples([{"inputs": {"question": "2+2?"}, "expected": {"answer": "4"}}])[0]
    # dspy.Example(question="2+2?", answer="4").with_inputs("question")
    dspy_metric(exact_match, ["answer"])(example, dspy.Prediction(answer=" 4"))  # 1.0
    dspy_feedback_metric(exact_match, ["answer"])(example, dspy.Prediction(answer="5"))
    # Prediction(score=0.0, feedback="Score 0.00. answer: expected '4', got '5'.")

A missing prediction (the program raised) scores as empty outputs. dspy is imported only when an
example or a feedback is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dspex_gql.engine.optimization.scoring import Metric

DspyMetric = Callable[..., Any]
PERFECT = 1.0


def to_dspy_examples(examples: Iterable[Mapping[str, Any]]) -> list[Any]:
    """`dspy.Example(**inputs, **expected).with_inputs(*inputs)` for each of our examples."""
    import dspy

    return [
        dspy.Example(**example["inputs"], **example["expected"]).with_inputs(*example["inputs"])
        for example in examples
    ]


def dspy_metric(metric: Metric, output_names: Sequence[str]) -> DspyMetric:
    """A DSPy metric `(example, prediction, trace=None) -> float`."""
    names = tuple(output_names)

    def score(example: Any, prediction: Any, trace: Any = None) -> float:  # noqa: ARG001
        outputs, expected = compared(example, prediction, names)
        return float(metric(outputs, expected))

    return score


def dspy_feedback_metric(metric: Metric, output_names: Sequence[str]) -> DspyMetric:
    """GEPA's metric `(gold, pred, trace, pred_name, pred_trace) -> dspy.Prediction(score=...,
    feedback=...)`; the feedback names each expected field with what came instead."""
    names = tuple(output_names)

    def score_with_feedback(
        gold: Any,
        pred: Any,
        trace: Any = None,  # noqa: ARG001
        pred_name: str | None = None,  # noqa: ARG001
        pred_trace: Any = None,  # noqa: ARG001
    ) -> Any:
        import dspy

        outputs, expected = compared(gold, pred, names)
        value = float(metric(outputs, expected))
        return dspy.Prediction(score=value, feedback=feedback(outputs, expected, value))

    return score_with_feedback


def compared(
    example: Any, prediction: Any, names: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(outputs, expected): the output fields the prediction has and the example expects."""
    expected = {name: example[name] for name in names if _has(example, name)}
    outputs = {name: prediction[name] for name in names if _has(prediction, name)}
    return outputs, expected


def feedback(outputs: Mapping[str, Any], expected: Mapping[str, Any], score: float) -> str:
    if score >= PERFECT:
        return f"Score {score:.2f}. Correct."
    wrong = [
        f"{name}: expected {value!r}, got {outputs[name]!r}"
        if name in outputs
        else f"{name}: expected {value!r}, got nothing"
        for name, value in expected.items()
    ]
    return f"Score {score:.2f}. " + "; ".join(wrong) + "."


def _has(record: Any, name: str) -> bool:
    try:
        return record is not None and name in record
    except TypeError:
        return False
