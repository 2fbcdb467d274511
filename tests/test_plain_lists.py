# mypy: disable-error-code="untyped-decorator, no-any-return"
"""Lists completed in one loop (`graphql/execution.py`) give exactly what graphql-core gives:
the same data and the same errors, for plain lists and for every case it hands back."""

from __future__ import annotations

import asyncio
import enum
import gc
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import strawberry
from graphql.execution.collect_fields import CollectedFields
from strawberry.dataloader import DataLoader

from dspex_gql.graphql.execution import ServiceExecutionContext
from dspex_gql.graphql.lookups import Lookup


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Loaders:
    """What a request's context holds: DataLoaders of parts by their item's name."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.makers = DataLoader(load_fn=self._makers)
        self.makers_but_b = DataLoader(load_fn=self._makers_but_b)
        self.broken = DataLoader(load_fn=self._broken)

    async def _makers(self, names: list[str]) -> list[Part]:
        self.batches.append(names)
        return [Part(label=f"made {name}") for name in names]

    async def _makers_but_b(self, names: list[str]) -> list[Part | None]:
        return [None if name == "b" else Part(label=name) for name in names]

    async def _broken(self, names: list[str]) -> list[Part]:
        raise ValueError(f"no makers for {len(names)}")


class Context:
    def __init__(self) -> None:
        self.loaders = Loaders()


LookupInfo = strawberry.Info[Context, None]
MAKER = Lookup("makers", "name", lambda part: part)
MAKER_BUT_B = Lookup("makers_but_b", "name", lambda part: part)
BROKEN = Lookup("broken", "name", lambda part: part)


@strawberry.type
class Item:
    name: str
    colour: Colour
    made_at: datetime
    note: str | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name * 2

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken {self.name}")

    @strawberry.field
    def required(self) -> str:
        if self.name == "b":
            raise ValueError("required is missing for b")
        return self.name

    @strawberry.field
    async def required_later(self) -> str:
        await asyncio.sleep(0)
        if self.name == "b":
            raise ValueError("required_later is missing for b")
        return self.name

    @strawberry.field(metadata=MAKER.metadata)
    async def maker(self, info: LookupInfo) -> Part:
        return await MAKER.resolve(self, info)

    @strawberry.field(metadata=MAKER_BUT_B.metadata)
    async def maybe_maker(self, info: LookupInfo) -> Part | None:
        return await MAKER_BUT_B.resolve(self, info)

    @strawberry.field(metadata=MAKER_BUT_B.metadata)
    async def required_maker(self, info: LookupInfo) -> Part:
        return await MAKER_BUT_B.resolve(self, info)

    @strawberry.field(metadata=BROKEN.metadata)
    async def broken_maker(self, info: LookupInfo) -> Part | None:
        return await BROKEN.resolve(self, info)

    @strawberry.field
    def parts(self) -> list[Part]:
        return [Part(label=f"{self.name}{i}") for i in range(2)]


@strawberry.type
class Part:
    label: str


@strawberry.type
class Reading:
    """Values each scalar's shortcut must leave to its coercion (or take as they are)."""

    count: int
    ratio: float
    label: str
    ok: bool
    key: strawberry.ID


def reading(
    count: object = 1, ratio: object = 0.5, label: object = "x", ok: object = True
) -> Reading:
    return Reading(count=count, ratio=ratio, label=label, ok=ok, key=strawberry.ID("k"))  # type: ignore[arg-type]


class Shade(enum.Enum):
    RED = "red"


WHEN = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def item(name: object, colour: object = Colour.RED, note: str | None = None) -> Item:
    return Item(name=name, colour=colour, made_at=WHEN, note=note)  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [item("a", note="n"), item("b", Colour.BLUE)]

    @strawberry.field
    def nameless(self) -> list[Item]:
        """A null where the type forbids one: graphql-core's error, path and all."""
        return [item("a"), item(None)]

    @strawberry.field
    def odd_colour(self) -> list[Item]:
        return [item("a"), item("b", "green")]

    @strawberry.field
    def gaps(self) -> list[Item | None]:
        return [item("a"), None]

    @strawberry.field
    def forbidden_gaps(self) -> list[Item]:
        return [item("a"), None]  # type: ignore[list-item]

    @strawberry.field
    def names(self) -> list[str]:
        return ["x", "y"]

    @strawberry.field
    def names_with_a_gap(self) -> list[str]:
        return ["x", None]  # type: ignore[list-item]

    @strawberry.field
    def items_or_gaps(self) -> list[Item | None]:
        return [item("a"), item("b"), None]

    @strawberry.field
    def matrix(self) -> list[list[int]]:
        return [[1, 2], [3]]

    @strawberry.field
    def readings(self) -> list[Reading]:
        return [reading(), reading(True, 2, 5, 0), reading(-(2**31), 1e300, True, False)]

    @strawberry.field
    def big_count(self) -> list[Reading]:
        return [reading(), reading(2**31)]

    @strawberry.field
    def not_a_number(self) -> list[Reading]:
        return [reading(ratio=float("nan"))]

    @strawberry.field
    def shades(self) -> list[Item]:
        """A member of another enum with the same value: Strawberry's coercion decides."""
        return [item("a", Shade.RED)]


QUERIES = [
    "{ items { name colour madeAt note } }",
    "{ items { __typename n: name ...on Item { colour } ...Parts } }"
    " fragment Parts on Item { note }",
    "{ items { name shout } }",
    "{ items { name note @include(if: false) colour @skip(if: true) } }",
    "{ nameless { name } }",
    "{ nameless { colour } }",
    "{ oddColour { name colour } }",
    "{ gaps { name } }",
    "{ forbiddenGaps { name } }",
    "{ names namesWithAGap }",
    "{ matrix }",
    "{ items { name shout later n: name } }",
    "{ items { broken name } }",
    "{ items { name required } }",
    "{ itemsOrGaps { name required } }",
    "{ itemsOrGaps { name requiredLater later } }",
    "{ items { requiredLater } }",
    "{ items { name parts { label } } }",
    "{ items { ...on Item { later } colour } }",
    "{ readings { count ratio label ok key } }",
    "{ bigCount { count } }",
    "{ notANumber { ratio } }",
    "{ shades { colour } }",
    "{ items { name maker { label } } }",
    "{ items { maker { label __typename } n: name m: maker { l: label } } }",
    "{ items { name maybeMaker { label } } }",
    "{ items { name requiredMaker { label } } }",
    "{ itemsOrGaps { name requiredMaker { label } } }",
    "{ items { name brokenMaker { label } } }",
    "{ items { name maker { label } shout } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_the_same_result_as_graphql_core(query: str) -> None:
    plain = strawberry.Schema(Query, execution_context_class=ServiceExecutionContext)
    reference = strawberry.Schema(Query)

    ours = await plain.execute(query, context_value=Context())
    theirs = await reference.execute(query, context_value=Context())

    assert json.dumps(ours.data) == json.dumps(theirs.data)  # True is not 1, 2.0 is not 2
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in theirs.errors or []]
    assert ours.data is not None or ours.errors


class FieldCount:
    """The schema with an executor that counts graphql-core's field executions."""

    def __init__(self) -> None:
        self.calls = 0
        count = self

        class Counting(ServiceExecutionContext):
            def execute_field(self, *args: object, **kwargs: object) -> object:
                count.calls += 1
                return super().execute_field(*args, **kwargs)  # type: ignore[arg-type]

        self.schema = strawberry.Schema(Query, execution_context_class=Counting)


async def test_a_plain_list_is_completed_without_a_resolver_call_per_field() -> None:
    """What makes it fast: graphql-core would call each field's resolver once per item."""
    count = FieldCount()
    schema = count.schema
    result = await schema.execute("{ items { name colour madeAt note } }")

    assert result.errors is None
    assert result.data == {
        "items": [
            {"name": "a", "colour": "RED", "madeAt": WHEN.isoformat(), "note": "n"},
            {"name": "b", "colour": "BLUE", "madeAt": WHEN.isoformat(), "note": None},
        ]
    }
    assert count.calls == 1  # `items` itself

    count.calls = 0
    mixed = await schema.execute("{ items { name shout colour } }")

    assert mixed.data == {
        "items": [
            {"name": "a", "shout": "A", "colour": "RED"},
            {"name": "b", "shout": "B", "colour": "BLUE"},
        ]
    }
    assert list(mixed.data["items"][0]) == ["name", "shout", "colour"], "in the order asked"
    assert count.calls == 3  # `items`, then `shout` of each item


async def test_a_lookup_loads_once_for_the_list_and_completes_in_the_loop() -> None:
    count = FieldCount()
    context = Context()
    result = await count.schema.execute("{ items { name maker { label } } }", context_value=context)

    assert result.errors is None
    assert result.data == {
        "items": [
            {"name": "a", "maker": {"label": "made a"}},
            {"name": "b", "maker": {"label": "made b"}},
        ]
    }
    assert count.calls == 1  # `items` itself
    assert context.loaders.batches == [["a", "b"]]


@strawberry.type
class Ticks:
    @strawberry.subscription
    async def items(self, count: int) -> AsyncIterator[Item]:
        for index in range(count):
            yield item(f"tick{index}")


def collected_fields_alive() -> int:
    return sum(isinstance(o, CollectedFields) for o in gc.get_objects())


async def test_a_long_subscription_keeps_nothing_per_event() -> None:
    """graphql-core's per-event executors share one memo that grows with every event; ours give
    each event its own (`build_per_event_executor`)."""
    schema = strawberry.Schema(
        Query, subscription=Ticks, execution_context_class=ServiceExecutionContext
    )
    events = 300
    before = collected_fields_alive()
    stream = await schema.subscribe("subscription { items(count: 300) { name parts { label } } }")
    assert not isinstance(stream, strawberry.types.ExecutionResult)
    received = 0
    async for result in stream:
        assert result.errors is None
        received += 1
        if received == events:
            alive = collected_fields_alive() - before  # the subscription is still open here
    assert received == events
    assert alive < 20, f"{alive} collected field sets kept by one subscription of {events} events"
