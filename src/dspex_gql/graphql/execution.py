"""How the service executes GraphQL: graphql-core's executor, with lists completed in one loop
instead of field by field, and subscriptions that do not grow with every event.

graphql-core completes every field of every list item on its own: a path, a resolve info, the
resolver, then the completion of the value through its wrapping types. For a page of 1,000 rows
that is most of a request's time, though most fields of a row are *plain*: a scalar or enum
attribute of the object (Strawberry's basic field: no resolver, no arguments, no extension).
`ServiceExecutionContext` reads and coerces the plain fields of a list's items itself, and
hands only the other fields to graphql-core's `execute_field`, with the same paths, error
handling and concurrency as graphql-core would. A field that is a lookup (`graphql/lookups.py`,
e.g. `signature { id name }` of each program) of an object whose selected fields are plain is
loaded for every item in one `load_many` and completed in the same loop.

Anything the loop does not expect in a plain field (a null where the type forbids one, a value the
scalar refuses, an item of another type) sends the whole list back to graphql-core before any
resolver has run, which then reports it exactly as it always does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from math import isfinite
from typing import Any
from weakref import WeakMethod

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter

from dspex_gql.graphql.lookups import Lookup, lookup_of

Coerce = Callable[[Any], Any]


class _Irregular(Exception):
    """A value the loop does not complete; graphql-core completes the list instead."""


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
class _Plain:
    attribute: str | None
    """None for `__typename`, whose value is the type's name."""
    read: Callable[[Any, str], Any]
    leaf: _Leaf


@dataclass(frozen=True, slots=True)
class _Objects:
    type: GraphQLObjectType
    nullable: bool
    fields: tuple[tuple[str, _Plain | _LookedUp | Any], ...]
    """Each response name with its plain field, its lookup, or the field details graphql-core
    executes."""
    only_plain: bool
    looked_up: bool
    """Not only plain, but the rest are lookups of objects of plain fields."""

    def plain_values(self, item: Any, info: GraphQLResolveInfo[Any]) -> dict[str, Any] | None:
        """The item's plain fields, completed (all of its fields when `only_plain`)."""
        if item is None:
            if self.nullable:
                return None
            raise _Irregular
        if self.type.is_type_of is not None and self.type.is_type_of(item, info) is not True:
            raise _Irregular
        completed: dict[str, Any] = {}
        for name, field in self.fields:
            if not isinstance(field, _Plain):
                continue
            if field.attribute is None:
                completed[name] = self.type.name
            else:
                completed[name] = field.leaf.complete(field.read(item, field.attribute))
        return completed


@dataclass(frozen=True, slots=True)
class _LookedUp:
    """A field that is a DataLoader lookup (`graphql/lookups.py`) of an object whose selected
    fields are all plain."""

    lookup: Lookup
    objects: _Objects
    details: Any
    """For graphql-core, when the list is not completed in the loop."""


class _WeaklyBound:
    """A method of an object, called without keeping the object alive."""

    __slots__ = ("_method",)

    def __init__(self, method: Callable[..., Any]) -> None:
        self._method = WeakMethod(method)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        method = self._method()
        if method is None:
            raise ReferenceError("the GraphQL execution this belongs to has ended")
        return method(*args, **kwargs)


class ServiceExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """graphql-core gives the context its own bound methods as `async_helpers`: a reference
        cycle, which kept everything a request made (its scope, context, middlewares' closures:
        ~90 objects) until the garbage collector's next pass, so a collection ran every hundred
        requests or so and stalled one of them for 2 to 3 ms. Held weakly, the request is freed
        as soon as it ends."""
        super().__init__(*args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_WeaklyBound(self.gather_async_work), track=_WeaklyBound(self.track_async_work)
        )

    def build_per_event_executor(self, payload: Any) -> Any:
        """Each event of a subscription gets its own memo of collected sub-fields.

        graphql-core (3.3) gives every event's executor the subscription's memo, keyed by the
        identity of field lists that each event builds anew: it grows by an entry per nested
        object per event for as long as the subscription lives (1,000 subscribers at one event a
        second kept ~1,000 more entries alive every second, and the full collections that walk
        them stalled every subscriber for ~0.4 s)."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        plan = self._plan(item_type, field_details_list)
        if plan is not None and self.get_stream_usage(field_details_list, path) is None:
            items = items if isinstance(items, list) else list(items)
            try:
                if isinstance(plan, _Leaf):
                    return [plan.complete(item) for item in items]
                plain = [plan.plain_values(item, info) for item in items]
            except Exception:  # _Irregular, or a value refused: graphql-core will report it
                pass
            else:
                if plan.only_plain:
                    return plain
                if plan.looked_up:
                    graphql_core = partial(
                        super().complete_iterable_value,
                        item_type, field_details_list, info, path, items, position_context,
                    )  # fmt: skip
                    return self._complete_lookups(plan, items, plain, info, graphql_core)
                return self._complete_rest(plan, items, plain, item_type, field_details_list, path)
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    async def _complete_lookups(
        self,
        plan: _Objects,
        items: list[Any],
        plain: list[dict[str, Any] | None],
        info: GraphQLResolveInfo[Any],
        graphql_core: Callable[[], AwaitableOrValue[list[Any]]],
    ) -> list[Any]:
        """Each lookup for every item in one `load_many`, its objects completed in the loop. If
        a load fails or an object is irregular, graphql-core completes the list instead (the
        loader has the values by then, or fails again for each item, reporting it there)."""
        try:
            for name, field in plan.fields:
                if isinstance(field, _LookedUp):
                    lookup = field.lookup
                    keys = [getattr(item, lookup.key) for item in items]
                    values = await lookup.load_all(self.context_value, keys)
                    for row, value in zip(plain, values, strict=True):
                        if row is not None:
                            row[name] = field.objects.plain_values(lookup.wrapped(value), info)
        except Exception:
            completed = graphql_core()
            return completed if isinstance(completed, list) else await completed
        names = [name for name, _ in plan.fields]
        return [None if row is None else {name: row[name] for name in names} for row in plain]

    def _complete_rest(
        self,
        plan: _Objects,
        items: list[Any],
        plain: list[dict[str, Any] | None],
        item_type: GraphQLOutputType,
        field_details_list: Any,
        path: Path,
    ) -> AwaitableOrValue[list[Any]]:
        """Each item's other fields through `execute_field`, as graphql-core's `execute_fields`
        and `complete_list_item_value` would: an error in a non-null field nulls the item (or,
        for non-null items, the list), awaited fields are awaited together."""
        completed: list[Any] = []
        awaited: list[int] = []
        try:
            for index, (item, values) in enumerate(zip(items, plain, strict=True)):
                item_path = path.add_key(index, None)
                try:
                    row = None if values is None else self._row(plan, item, values, item_path)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    row = None
                if isinstance(row, _Pending):
                    awaited.append(index)
                    completed.append(self._finish(row, item_type, field_details_list, item_path))
                else:
                    completed.append(row)
        except Exception:
            self.settle_in_background([completed[index] for index in awaited])
            raise
        if not awaited:
            return completed
        return self._awaited(completed, awaited)

    def _row(
        self, plan: _Objects, item: Any, values: dict[str, Any], item_path: Path
    ) -> dict[str, Any] | _Pending:
        row: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for name, field in plan.fields:
                if isinstance(field, _Plain):
                    row[name] = values[name]
                    continue
                details = field.details if isinstance(field, _LookedUp) else field
                field_path = Path(item_path, name, plan.type.name)
                result = self.execute_field(plan.type, item, details, field_path, None)
                if result is Undefined:
                    continue
                row[name] = result
                if self.is_awaitable(result):
                    pending.append(name)
        except Exception:
            self.settle_in_background([row[name] for name in pending])
            raise
        return _Pending(row, pending) if pending else row

    async def _finish(
        self, pending: _Pending, item_type: GraphQLOutputType, field_details_list: Any, path: Path
    ) -> Any:
        row, names = pending.row, pending.names
        try:
            if len(names) == 1:  # no tasks for a single field, as graphql-core
                row[names[0]] = await row[names[0]]
            else:
                results = await gather_with_cancel(*(row[name] for name in names))
                row.update(zip(names, results, strict=True))
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, path)
            return None
        return row

    @staticmethod
    async def _awaited(completed: list[Any], awaited: list[int]) -> list[Any]:
        results = await gather_with_cancel(*(completed[index] for index in awaited))
        for index, result in zip(awaited, results, strict=True):
            completed[index] = result
        return completed

    def _plan(
        self, item_type: GraphQLOutputType, field_details_list: Any
    ) -> _Leaf | _Objects | None:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None  # something wraps every resolver
        nullable, named = _unwrapped(item_type)
        if is_leaf_type(named):
            return _Leaf(_output_coercion(named), nullable)
        if not is_object_type(named):
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(named, field_details_list)
        if new_defer_usages:
            return None
        fields = tuple(
            (name, self._plain_field(named, details) or self._lookup(named, details) or details)
            for name, details in grouped.items()
        )
        only_plain = all(isinstance(field, _Plain) for _, field in fields)
        looked_up = all(isinstance(field, _Plain | _LookedUp) for _, field in fields)
        return _Objects(named, nullable, fields, only_plain, looked_up and not only_plain)

    def _lookup(self, parent: GraphQLObjectType, details: Any) -> _LookedUp | None:
        found = _without_arguments(parent, details)
        if found is None:
            return None
        definition, strawberry_field = found
        if (lookup := lookup_of(strawberry_field)) is None:
            return None
        if strawberry_field.extensions or strawberry_field.permission_classes:
            return None  # the resolver does more than the lookup
        objects = self._plan(definition.type, details)
        if not isinstance(objects, _Objects) or not objects.only_plain:
            return None
        return _LookedUp(lookup, objects, details)

    def _plain_field(self, parent: GraphQLObjectType, details: Any) -> _Plain | None:
        if details[0].node.name.value == "__typename":
            return _Plain(None, getattr, _Leaf(str, False))
        found = _without_arguments(parent, details)
        if found is None:
            return None
        definition, strawberry_field = found
        if not getattr(definition.resolve, "_is_default", False):
            return None
        leaf = _leaf_of(definition.type)
        if leaf is None:
            return None
        return _Plain(strawberry_field.python_name, strawberry_field.default_resolver, leaf)


def _without_arguments(parent: GraphQLObjectType, details: Any) -> tuple[Any, Any] | None:
    """The selected field's definition and its Strawberry field, if it takes no arguments."""
    node = details[0].node
    definition = parent.fields.get(node.name.value)
    if definition is None or definition.args or node.arguments:
        return None
    strawberry_field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return None if strawberry_field is None else (definition, strawberry_field)


@dataclass(frozen=True, slots=True)
class _Pending:
    """A row some of whose fields are still to be awaited."""

    row: dict[str, Any]
    names: list[str]


def _leaf_of(type_: GraphQLOutputType) -> _Leaf | None:
    nullable, named = _unwrapped(type_)
    return _Leaf(_output_coercion(named), nullable) if is_leaf_type(named) else None


def _output_coercion(named: GraphQLLeafType) -> Coerce:
    """The type's own output coercion, with a shortcut for the values it returns unchanged (a
    `str` for String, an `int` in range for Int...) and, for Strawberry's enums, a lookup of the
    member's name (Strawberry scans every value of the enum for each member it coerces)."""
    coerce = named.coerce_output_value
    if isinstance(named, CustomGraphQLEnumType):
        return _enum_coercion(named, coerce)
    unchanged = _UNCHANGED.get(named.name)
    if unchanged is None or named is not _BUILT_IN.get(named.name):
        return coerce

    def coerce_scalar(value: Any) -> Any:
        return value if unchanged(value) else coerce(value)

    return coerce_scalar


def _enum_coercion(named: CustomGraphQLEnumType, coerce: Coerce) -> Coerce:
    try:
        names = {value.value: name for name, value in named.values.items()}
    except TypeError:  # values that cannot be keys
        return coerce
    members = named.wrapped_cls

    def coerce_member(value: Any) -> Any:
        if isinstance(value, members) and (name := names.get(value._value_)) is not None:
            return name
        return coerce(value)

    return coerce_member


_BUILT_IN = {
    type_.name: type_
    for type_ in (GraphQLString, GraphQLID, GraphQLInt, GraphQLFloat, GraphQLBoolean)
}
_UNCHANGED: dict[str, Callable[[Any], bool]] = {
    "String": lambda value: type(value) is str,
    "ID": lambda value: type(value) is str,
    "Int": lambda value: type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT,
    "Float": lambda value: type(value) is float and isfinite(value),
    "Boolean": lambda value: type(value) is bool,
}
"""What each built-in scalar's coercion would return as it is."""


def _unwrapped(type_: GraphQLOutputType) -> tuple[bool, Any]:
    """Whether the type takes null, and the type inside its non-null wrapper."""
    if is_non_null_type(type_):
        return False, type_.of_type
    return True, type_
