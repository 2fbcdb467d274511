"""Whether a value of one field type may flow into a field of another.

The rules (`fits(source, target)`), checked wherever a node's output is mapped into an input:

| source           | target             | fits                                         |
|------------------|--------------------|----------------------------------------------|
| T                | T                  | yes: the same type                           |
| int              | float              | yes: widening                                |
| Literal[v, ...]  | str, int or float  | yes when every v is a str, an int, a number  |
| Literal[v, ...]  | Literal[w, ...]    | yes when every v is one of the w             |
| list[S]          | list[T]            | when S fits T                                |
| list[S]          | S                  | no: fan out over the list instead            |
| S                | list[S]            | no: nothing is wrapped silently              |
| str              | Literal[...]       | no: a str may be any string                  |
| float            | int                | no: nothing is narrowed                      |
| bool             | int, and int→bool  | no: a bool is not a number                   |
| anything else    | e.g. dict ↔ str    | no                                           |
"""

from __future__ import annotations

from dspex_gql.engine.types import FieldType, ListType, LiteralType, ScalarType

_LITERAL_VALUE_KINDS = {"int": (int,), "float": (int, float), "str": (str,)}


def fits(source: FieldType, target: FieldType) -> bool:
    """`fits(parse_type("list[str]"), parse_type("str")) is False`."""
    if source is target or source == target:  # mostly one object: `parse_type` caches its types
        return True
    if isinstance(source, ListType) and isinstance(target, ListType):
        return fits(source.item, target.item)
    if isinstance(source, LiteralType):
        return _literal_fits(source, target)
    return source == ScalarType("int") and target == ScalarType("float")


def _literal_fits(source: LiteralType, target: FieldType) -> bool:
    if isinstance(target, LiteralType):
        return all(value in target.values for value in source.values)
    if isinstance(target, ScalarType) and target.name in _LITERAL_VALUE_KINDS:
        kinds = _LITERAL_VALUE_KINDS[target.name]
        return all(isinstance(value, kinds) for value in source.values)
    return False
