import asyncio
import contextlib
import logging

import pytest

from dspex_gql.pubsub import Event, Hub, HubUnavailable, SubscriberOverflow
from tests.support.pubsub import Progress, read_until, take


class Renamed(Event):
    name: str

    @property
    def key(self) -> str:
        return self.name


async def test_a_subscriber_receives_typed_events(hub: Hub, channel: str) -> None:
    sent = Progress(sequence=1, run="a", step=3)
    async with hub.subscribe(channel, Progress) as events:
        await hub.publish(channel, sent)
        [received] = await take(events, 1)
    assert isinstance(received, Progress)
    assert received == sent
    assert received is not sent


async def test_a_reader_that_keeps_up_sees_every_event(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel, Progress) as events:
        for step in range(1, 21):
            sent = Progress(sequence=step, run="a", step=step)
            await hub.publish(channel, sent)
            assert await take(events, 1) == [sent]


async def test_events_published_once_subscribe_returned_are_never_lost(
    hub: Hub, channel: str
) -> None:
    for attempt in range(20):
        async with hub.subscribe(f"{channel}.{attempt}", Progress) as events:
            await hub.publish(f"{channel}.{attempt}", Progress(sequence=attempt, run="a"))
            assert await take(events, 1, within=2.0) == [Progress(sequence=attempt, run="a")]


async def test_events_from_another_process_arrive(networked_url: str, channel: str) -> None:
    sent = [Progress(sequence=n, run=f"run-{n}") for n in range(50)]
    async with (
        Hub(networked_url) as reader,
        Hub(networked_url) as writer,
        reader.subscribe(channel, Progress) as events,
    ):
        for event in sent:
            await writer.publish(channel, event)
        assert await take(events, len(sent)) == sent


async def test_subscribers_of_a_channel_share_one_backend_subscription(
    hub: Hub, channel: str
) -> None:
    sent = Progress(sequence=1, run="a")
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(hub.subscribe(channel, Progress)) for _ in "abc"]
        assert hub.subscriber_counts()[channel] == 3
        await hub.publish(channel, sent)
        for events in streams:
            assert await take(events, 1) == [sent]
        await stack.aclose()
        assert channel not in hub.subscriber_counts()


async def test_one_event_reaches_every_subscriber(hub: Hub, channel: str) -> None:
    sent = Progress(sequence=1, run="a")
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = (hub.subscribe(channel, Progress) for _ in range(200))
        streams = [await stack.enter_async_context(s) for s in subscriptions]
        await hub.publish(channel, sent)
        received = await asyncio.gather(*(take(events, 1) for events in streams))
    assert received == [[sent]] * 200


async def test_a_slow_reader_sees_only_the_latest_event_per_key(hub: Hub, channel: str) -> None:
    async with (
        hub.subscribe(channel, Progress) as slow,
        hub.subscribe(channel, Progress) as watcher,
    ):
        for step in range(1, 101):
            await hub.publish(channel, Progress(sequence=step, run="a", step=step))
        await hub.publish(channel, Progress(sequence=101, run="end"))
        await read_until(watcher, lambda event: event.run == "end")
        # Each event reaches both buffers at once, so `slow` has them all once `watcher` has.
        assert await take(slow, 2) == [
            Progress(sequence=100, run="a", step=100),
            Progress(sequence=101, run="end"),
        ]


async def test_too_many_unread_keys_end_a_subscriber_with_overflow(
    hub_url: str, channel: str
) -> None:
    async with (
        Hub(hub_url, buffer_size=4) as hub,
        hub.subscribe(channel, Progress) as slow,
        hub.subscribe(channel, Progress) as watcher,
    ):
        for n in range(5):
            await hub.publish(channel, Progress(sequence=n, run=f"run-{n}"))
        # The watcher keeps up, or overflows too if all five arrive before it reads.
        with contextlib.suppress(SubscriberOverflow):
            await read_until(watcher, lambda event: event.run == "run-4")
        with pytest.raises(SubscriberOverflow):
            await take(slow, 1)


async def test_a_message_that_does_not_decode_is_logged_and_skipped(
    hub: Hub, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dspex_gql.pubsub")
    async with hub.subscribe(channel, Progress) as events:
        await hub.publish(channel, Renamed(sequence=1, name="not progress"))
        await hub.publish(channel, Progress(sequence=2, run="a"))
        assert await take(events, 1) == [Progress(sequence=2, run="a")]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "skipped a message" in record.getMessage()


async def test_a_channel_carries_one_event_type(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel, Progress):
        with pytest.raises(TypeError, match="carries Progress"):
            async with hub.subscribe(channel, Renamed):
                pass


async def test_an_event_type_without_a_key_is_refused(hub: Hub, channel: str) -> None:
    class Keyless(Event):
        name: str

    with pytest.raises(TypeError, match="must define the `key` property"):
        async with hub.subscribe(channel, Keyless):
            pass


async def test_ping_is_a_round_trip_through_the_backend(hub_url: str) -> None:
    async with Hub(hub_url) as hub:
        assert await hub.ping(timeout=2.0)
    assert not await hub.ping(timeout=2.0)


async def test_leaving_the_hub_ends_subscribers_quietly(hub_url: str, channel: str) -> None:
    subscribed = asyncio.Event()

    async def read_all(hub: Hub) -> list[Progress]:
        async with hub.subscribe(channel, Progress) as events:
            subscribed.set()
            return [event async for event in events]

    async with Hub(hub_url) as hub:
        reader = asyncio.create_task(read_all(hub))
        await subscribed.wait()
    async with asyncio.timeout(5):
        assert await reader == []


async def test_a_closed_hub_refuses_to_publish_or_subscribe(hub_url: str, channel: str) -> None:
    async with Hub(hub_url) as hub:
        pass
    with pytest.raises(HubUnavailable):
        await hub.publish(channel, Progress(sequence=1, run="a"))
    with pytest.raises(HubUnavailable):
        async with hub.subscribe(channel, Progress):
            pass


async def test_an_event_published_on_several_channels_reaches_each(hub: Hub, channel: str) -> None:
    sent = Progress(sequence=1, run="a")
    async with (
        hub.subscribe(f"{channel}.one", Progress) as one,
        hub.subscribe(f"{channel}.two", Progress) as two,
    ):
        await hub.publish_on([f"{channel}.one", f"{channel}.two"], sent)
        assert await take(one, 1) == [sent]
        assert await take(two, 1) == [sent]


async def test_a_burst_goes_out_in_order_however_it_is_batched(
    networked_url: str, channel: str
) -> None:
    sent = [Progress(sequence=n, run=f"run-{n}") for n in range(1_200)]  # more than one batch
    async with (
        Hub(networked_url, buffer_size=len(sent)) as reader,
        Hub(networked_url) as writer,
        reader.subscribe(channel, Progress) as events,
    ):
        for event in sent:
            await writer.publish(channel, event)
        assert await take(events, len(sent)) == sent


async def test_in_process_an_event_no_one_subscribes_to_is_not_sent(
    hub_url: str, channel: str
) -> None:
    """On `memory://` the backend is this process: only channels a subscriber holds are sent
    to. A networked backend gets every event (another process may be listening)."""
    in_process = hub_url.startswith("memory://")
    watched, unwatched = f"{channel}.watched", f"{channel}.unwatched"
    async with Hub(hub_url) as hub, hub.subscribe(watched, Progress) as events:
        await hub.publish(unwatched, Progress(sequence=1, run="a"))
        assert hub.backlog == (0 if in_process else 1)
        await hub.publish_on([unwatched, watched], Progress(sequence=2, run="a"))
        assert await take(events, 1) == [Progress(sequence=2, run="a")]
