"""Lists of plain values completed in one tight loop instead of field by field.

graphql-core completes every field of every list item on its own: a path, a resolve info, the
resolver, then the completion of the value through its wrapping types. For a page of 1,000 rows of
scalars that is most of a request's time. When a list's items need nothing of that — each selected
field is a plain attribute (Strawberry's *basic* field: no resolver, no arguments, no extension)
of a scalar or enum type — `ListCompletion` reads the attributes and coerces the values itself.

Anything it does not expect (a null where the type forbids one, a value the scalar refuses, an
awaitable item) sends the whole list back to graphql-core, which then reports the error exactly
as it always does; nothing is read twice that has a side effect, since a basic field is an
attribute read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Coerce = Callable[[Any], Any]


class _Irregular(Exception):
    """An item the tight loop does not complete; graphql-core completes the list instead."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    coerce: Coerce
    nullable: bool

    def complete(self, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise _Irregular
        coerced = self.coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Irregular
        return coerced


@dataclass(frozen=True, slots=True)
class _Field:
    response_name: str
    attribute: str | None
    """None for `__typename`, whose value is the type's name."""
    read: Callable[[Any, str], Any]
    leaf: _Leaf


@dataclass(frozen=True, slots=True)
class _Objects:
    type: GraphQLObjectType
    nullable: bool
    fields: tuple[_Field, ...]

    def complete(self, item: Any, info: GraphQLResolveInfo[Any]) -> dict[str, Any] | None:
        if item is None:
            if self.nullable:
                return None
            raise _Irregular
        if self.type.is_type_of is not None and self.type.is_type_of(item, info) is not True:
            raise _Irregular
        completed: dict[str, Any] = {}
        for field in self.fields:
            if field.attribute is None:
                completed[field.response_name] = self.type.name
            else:
                completed[field.response_name] = field.leaf.complete(
                    field.read(item, field.attribute)
                )
        return completed


class PlainListsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        plan = self._plain_items(item_type, field_details_list)
        if plan is not None and self.get_stream_usage(field_details_list, path) is None:
            items = items if isinstance(items, list) else list(items)
            try:
                if isinstance(plan, _Leaf):
                    return [plan.complete(item) for item in items]
                return [plan.complete(item, info) for item in items]
            except Exception:  # _Irregular, or a value refused: graphql-core will report it
                pass
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _plain_items(
        self, item_type: GraphQLOutputType, field_details_list: Any
    ) -> _Leaf | _Objects | None:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None  # something wraps every resolver
        nullable, named = _unwrapped(item_type)
        if is_leaf_type(named):
            return _Leaf(named.coerce_output_value, nullable)
        if not is_object_type(named):
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(named, field_details_list)
        if new_defer_usages:
            return None
        fields = []
        for response_name, details in grouped.items():
            field = self._plain_field(named, response_name, details)
            if field is None:
                return None
            fields.append(field)
        return _Objects(named, nullable, tuple(fields))

    def _plain_field(
        self, parent: GraphQLObjectType, response_name: str, details: Any
    ) -> _Field | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return _Field(response_name, None, getattr, _Leaf(str, False))
        definition = parent.fields.get(name)
        if definition is None or definition.args or node.arguments:
            return None
        if not getattr(definition.resolve, "_is_default", False):
            return None
        strawberry_field = (definition.extensions or {}).get(
            GraphQLCoreConverter.DEFINITION_BACKREF
        )
        if strawberry_field is None:
            return None
        leaf = _leaf_of(definition.type)
        if leaf is None:
            return None
        return _Field(
            response_name, strawberry_field.python_name, strawberry_field.default_resolver, leaf
        )


def _leaf_of(type_: GraphQLOutputType) -> _Leaf | None:
    nullable, named = _unwrapped(type_)
    return _Leaf(named.coerce_output_value, nullable) if is_leaf_type(named) else None


def _unwrapped(type_: GraphQLOutputType) -> tuple[bool, Any]:
    """Whether the type takes null, and the type inside its non-null wrapper."""
    if is_non_null_type(type_):
        return False, type_.of_type
    return True, type_
