"""Our signatures as `dspy.Signature` classes: same field names, Python types, descriptions.

`question: str "the question" -> answer: str, confidence: float` becomes a signature whose
`question` is an `InputField(desc="the question")` of type `str` and whose outputs are `str` and
`float`; `list[T]`, `Literal[...]` and `dict` map to `list[T]`, `Literal[...]`, `dict[str, Any]`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from dspex_gql.engine.adapters.dspy.loader import require_dspy
from dspex_gql.engine.signatures import ParsedSignature, SignatureField
from dspex_gql.engine.types import FieldType, ListType, LiteralType

_SCALARS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "dict": dict[str, Any],
}


class SignatureNotSupported(ValueError):
    pass


def python_type(field_type: FieldType) -> Any:
    """`ListType(ScalarType("int"))` → `list[int]`, `LiteralType(("a", 1))` → `Literal["a", 1]`."""
    if isinstance(field_type, ListType):
        return list[python_type(field_type.item)]  # type: ignore[misc]
    if isinstance(field_type, LiteralType):
        return Literal.__getitem__(field_type.values)
    return _SCALARS[field_type.name]


@lru_cache(maxsize=256)
def dspy_signature(signature: ParsedSignature, instructions: str | None) -> Any:
    """The `dspy.Signature` class of a signature and instructions (DSPy's default instructions
    when None), cached by their value; `SignatureNotSupported` for names DSPy reserves."""
    dspy = require_dspy()
    if reserved := [name for name in _names(signature) if hasattr(dspy.Signature, name)]:
        raise SignatureNotSupported(f"DSPy reserves the field names {', '.join(reserved)}")
    fields = {
        **{field.name: _field(dspy.InputField, field) for field in signature.inputs},
        **{field.name: _field(dspy.OutputField, field) for field in signature.outputs},
    }
    try:
        return dspy.Signature(fields, instructions)
    except Exception as error:
        raise SignatureNotSupported(f"DSPy cannot build this signature: {error}") from error


def _names(signature: ParsedSignature) -> tuple[str, ...]:
    return signature.input_names + signature.output_names


def _field(kind: Any, field: SignatureField) -> tuple[Any, Any]:
    info = kind() if field.description is None else kind(desc=field.description)
    return python_type(field.field_type), info
