import asyncio

import pytest

from dspex_gql.pubsub import HubUnavailable, SubscriberOverflow
from dspex_gql.pubsub.buffer import CoalescingBuffer
from tests.support.pubsub import Progress, take


def progress(run: str, step: int) -> Progress:
    return Progress(sequence=step, run=run, step=step)


async def test_events_come_out_in_the_order_they_went_in() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=4)
    for event in [progress("a", 1), progress("b", 1), progress("c", 1)]:
        buffer.put(event)
    assert await take(buffer, 3) == [progress("a", 1), progress("b", 1), progress("c", 1)]


async def test_a_newer_event_replaces_the_unread_one_of_its_key_in_place() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=2)
    for event in [progress("a", 1), progress("b", 1), progress("a", 2), progress("a", 3)]:
        buffer.put(event)
    assert await take(buffer, 2) == [progress("a", 3), progress("b", 1)]


async def test_one_distinct_key_too_many_ends_the_reader_with_overflow() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=2)
    for event in [progress("a", 1), progress("b", 1), progress("c", 1)]:
        buffer.put(event)
    with pytest.raises(SubscriberOverflow):
        await take(buffer, 1)


async def test_reading_makes_room_for_new_keys() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=1)
    for run in ["a", "b", "c"]:
        buffer.put(progress(run, 1))
        assert await take(buffer, 1) == [progress(run, 1)]


async def test_a_waiting_reader_wakes_up_for_the_next_event() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=1)
    reader = asyncio.create_task(take(buffer, 1))
    await asyncio.sleep(0)  # let the reader start waiting
    buffer.put(progress("a", 1))
    assert await reader == [progress("a", 1)]


async def test_ending_without_error_stops_the_iteration() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=2)
    buffer.put(progress("a", 1))
    buffer.end()
    buffer.put(progress("b", 1))
    assert [event async for event in buffer] == []


async def test_ending_with_an_error_raises_it_to_a_waiting_reader() -> None:
    buffer = CoalescingBuffer[Progress](max_keys=2)
    reader = asyncio.create_task(take(buffer, 1))
    await asyncio.sleep(0)  # let the reader start waiting
    buffer.end(HubUnavailable("gone"))
    with pytest.raises(HubUnavailable, match="gone"):
        await reader
