"""Reading only the columns a query asks for.

A list of 1,000 rows costs about a microsecond per value the driver converts (UUIDs, datetimes,
JSON), so a client asking for four fields of each row should not pay for twenty. A GraphQL type
that reads this way declares which columns each of its fields needs (`ColumnsOf`); the resolver
asks for the columns of the fields selected; the others come back NULL, so the row still has every
attribute the type is built from (a field not selected is never read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from dspex_gql.graphql.context import Info

ColumnsOf = Mapping[str, tuple[str, ...]]
"""A GraphQL field's name → the model attributes its value is made from."""


def selected_columns(info: Info, columns_of: ColumnsOf) -> tuple[str, ...]:
    """What the fields selected on this resolver's (list of) objects need, sorted."""
    return _columns(_fields(info.selected_fields[0].selections), columns_of)


def connection_columns(info: Info, columns_of: ColumnsOf) -> tuple[str, ...]:
    """What the fields selected on a connection's nodes (`nodes` and `edges { node }`) need."""
    selected: list[SelectedField] = []
    for field in _fields(info.selected_fields[0].selections):
        if field.name == "nodes":
            selected += _fields(field.selections)
        elif field.name == "edges":
            for edge_field in _fields(field.selections):
                if edge_field.name == "node":
                    selected += _fields(edge_field.selections)
    return _columns(selected, columns_of)


def _columns(fields: Iterable[SelectedField], columns_of: ColumnsOf) -> tuple[str, ...]:
    return tuple(sorted({column for field in fields for column in columns_of[field.name]}))


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields selected, those in fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name != "__typename":
                yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)
