"""EventStream.set_sink: events handled as they arrive, from the connection's callback.

A real aiohttp master on 127.0.0.1 writes the events when the test says so; the reader waits in
`next_event()` meanwhile, as the Session's reading task does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from mesos_framework.errors import StreamClosed
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport import EventStream, HttpClient, StreamDecodeError
from tests.integration.scheduler_helpers import until
from tests.unit.transport.conftest import Serve
from tests.unit.transport.test_http import PB, STREAM_ID, heartbeat, records, subscribe_call, subscribed

Event = scheduler_pb2.Event


def error(message: str) -> scheduler_pb2.Event:
    event = Event(type=Event.ERROR)
    event.error.message = message
    return event


class Master:
    """Writes what the test puts in `writes`, one write each, until None."""

    def __init__(self) -> None:
        self.writes: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_type = PB.value
        response.headers["Mesos-Stream-Id"] = STREAM_ID
        response.enable_chunked_encoding()
        await response.prepare(request)
        while (data := await self.writes.get()) is not None:
            await response.write(data)
        await response.write_eof()
        return response


#: The scripted master and the stream it answers, SUBSCRIBED already read.
Opened = tuple[Master, EventStream[scheduler_pb2.Event]]


@pytest.fixture
async def stream(serve: Serve) -> AsyncIterator[Opened]:
    master = Master()
    async with HttpClient(await serve(master.handle)) as client:
        master.writes.put_nowait(records(subscribed()))
        events = await client.subscribe(subscribe_call())
        assert (await events.next_event()) is not None  # SUBSCRIBED, read as usual
        yield master, events
        master.writes.put_nowait(None)


async def test_events_go_to_the_sink_while_the_reader_waits_and_back_to_it_when_refused(
    stream: Opened,
) -> None:
    master, events = stream
    taken: list[int] = []

    def sink(event: scheduler_pb2.Event) -> bool:
        if event.type == Event.ERROR:
            return False  # the reader's
        taken.append(event.type)
        return True

    events.set_sink(sink)
    reader = asyncio.ensure_future(events.next_event())
    for _ in range(3):
        master.writes.put_nowait(records(heartbeat()))
    await until(lambda: len(taken) == 3)
    await asyncio.sleep(0.02)
    assert not reader.done()  # the reader slept through them
    # Refused: the reader gets it, and what came with it, in order; the sink nothing more.
    master.writes.put_nowait(records(error("one"), heartbeat(), error("two")))
    first = await asyncio.wait_for(reader, 5)
    assert first is not None and first.error.message == "one"
    second = await events.next_event()
    assert second is not None and second.type == Event.HEARTBEAT
    third = await events.next_event()
    assert third is not None and third.error.message == "two"
    assert taken == [Event.HEARTBEAT] * 3
    assert events.events == 7  # SUBSCRIBED, three to the sink, three to the reader
    # The reader waits again: the sink has the next one.
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(heartbeat()))
    await until(lambda: len(taken) == 4)
    assert not reader.done()
    reader.cancel()


async def test_wake_reader_returns_none_and_keeps_the_rest_for_the_reader(
    stream: Opened,
) -> None:
    master, events = stream
    taken: list[str] = []

    def sink(event: scheduler_pb2.Event) -> bool:
        taken.append(event.error.message)
        if event.error.message == "wake":
            events.wake_reader()
        return True

    events.set_sink(sink)
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(error("a"), error("wake"), error("b")))
    assert await asyncio.wait_for(reader, 5) is None
    assert taken == ["a", "wake"]  # "b" was not handed over after the wake-up
    later = await events.next_event()
    assert later is not None and later.error.message == "b"
    events.set_sink(None)  # handing over ends: the reader gets everything
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(error("c")))
    got = await asyncio.wait_for(reader, 5)
    assert got is not None and got.error.message == "c"
    assert taken == ["a", "wake"]


async def test_what_the_sink_raises_is_raised_by_the_reader(
    stream: Opened,
) -> None:
    master, events = stream

    def sink(event: scheduler_pb2.Event) -> bool:
        raise ValueError(f"sink bug on {Event.Type.Name(event.type)}")

    events.set_sink(sink)
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(heartbeat()))
    with pytest.raises(ValueError, match="sink bug on HEARTBEAT"):
        await asyncio.wait_for(reader, 5)
    assert not events.closed  # the stream itself is fine; the reader decides


async def test_an_undecodable_record_handed_over_is_raised_by_the_reader(
    stream: Opened,
) -> None:
    master, events = stream
    taken: list[int] = []
    events.set_sink(lambda event: taken.append(event.type) is None)
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(heartbeat()) + b"3\n\xff\xff\xff")
    with pytest.raises(StreamDecodeError, match="cannot decode event #3"):
        await asyncio.wait_for(reader, 5)
    assert taken == [Event.HEARTBEAT]
    assert events.closed


async def test_the_end_of_the_stream_reaches_the_waiting_reader(
    stream: Opened,
) -> None:
    master, events = stream
    taken: list[int] = []
    events.set_sink(lambda event: taken.append(event.type) is None)
    reader = asyncio.ensure_future(events.next_event())
    master.writes.put_nowait(records(heartbeat()))
    master.writes.put_nowait(None)
    read: list[int] = []
    with pytest.raises(StreamClosed, match="EOF"):
        async with asyncio.timeout(5):
            while True:
                event = await reader
                if event is not None:
                    read.append(event.type)  # arrived with the end: the reader's
                reader = asyncio.ensure_future(events.next_event())
    assert taken + read == [Event.HEARTBEAT]


async def test_a_backlog_over_the_high_water_mark_pauses_reading_and_comes_whole_and_in_order(
    stream: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesos_framework.transport import _stream

    monkeypatch.setattr(_stream, "HIGH_WATER", 256)
    master, events = stream
    response = events._response
    for n in range(300):
        master.writes.put_nowait(records(error(f"event {n}")))
    await until(lambda: response._paused)  # nobody read: the socket is left to fill
    messages = []
    async with asyncio.timeout(30):
        while len(messages) < 300:
            event = await events.next_event()
            assert event is not None
            messages.append(event.error.message)
    assert messages == [f"event {n}" for n in range(300)]
    assert not response._paused


async def test_a_read_soon_after_another_rests_and_the_next_takes_all_that_came_meanwhile(
    stream: Opened,
) -> None:
    master, events = stream
    response = events._response
    assert response.rest > 0  # an event stream rests after reads in a burst
    response.rest = 0.3  # long enough to write into, whatever the machine's load
    reads = 0
    received = response.data_received

    def counted(data: bytes | memoryview) -> None:
        nonlocal reads
        reads += 1
        received(data)

    response.data_received = counted  # type: ignore[method-assign]

    # A read after a quiet spell does not rest.
    response._last_read = -math.inf
    master.writes.put_nowait(records(error("alone")))
    event = await events.next_event()
    assert event is not None and event.error.message == "alone"
    assert not response._resting

    # One soon after it rests: what comes meanwhile waits in the socket, then comes in one read.
    master.writes.put_nowait(records(error("first")))
    event = await events.next_event()
    assert event is not None and event.error.message == "first"
    assert response._resting
    before = reads
    for n in range(5):
        master.writes.put_nowait(records(error(f"then {n}")))
    await asyncio.sleep(0.1)
    assert reads == before  # not read while resting
    messages = []
    async with asyncio.timeout(10):
        while len(messages) < 5:
            event = await events.next_event()
            assert event is not None
            messages.append(event.error.message)
    assert messages == [f"then {n}" for n in range(5)]
    assert reads == before + 1
