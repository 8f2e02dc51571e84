"""HttpClient against a real Apache Mesos 1.11 master (the shared session harness)."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import AsyncIterator

import pytest

from mesos_framework.errors import BadRequest, MethodNotAllowed, UnsupportedMediaType
from mesos_framework.protocol import ContentType, encode
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport import EventStream, HttpClient
from tests.support.real_mesos import RealMesos

pytestmark = pytest.mark.real_mesos

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


def subscribe_call(name: str) -> scheduler_pb2.Call:
    call = Call(type=Call.SUBSCRIBE)
    info = call.subscribe.framework_info
    info.user = getpass.getuser()
    info.name = name
    info.failover_timeout = 0
    return call


async def next_of(stream: EventStream, wanted: int, *, within: float = 60.0) -> scheduler_pb2.Event:
    """The next event of type ``wanted``, skipping heartbeats."""
    async with asyncio.timeout(within):
        async for event in stream:
            if event.type == wanted:
                return event
            assert event.type == Event.HEARTBEAT, f"unexpected {Event.Type.Name(event.type)}: {event}"
    raise AssertionError("stream ended")


class Framework:
    """A subscribed framework with its client and stream; torn down on exit."""

    def __init__(self, client: HttpClient, stream: EventStream, framework_id: str) -> None:
        self.client = client
        self.stream = stream
        self.framework_id = framework_id

    def call(self, kind: int) -> scheduler_pb2.Call:
        call = Call(type=kind)
        call.framework_id.value = self.framework_id
        return call


@pytest.fixture
async def framework(real_mesos_cluster: RealMesos) -> AsyncIterator[Framework]:
    client = HttpClient(real_mesos_cluster.url, content_type=ContentType.JSON)
    try:
        stream = await client.subscribe(subscribe_call(f"transport-errors-{uuid.uuid4().hex[:6]}"))
        subscribed = await next_of(stream, Event.SUBSCRIBED, within=30)
        fw = Framework(client, stream, subscribed.subscribed.framework_id.value)
        yield fw
        await client.send(fw.call(Call.TEARDOWN), stream_id=stream.stream_id)
    finally:
        await client.close()


@pytest.mark.parametrize("content_type", [ContentType.PROTOBUF, ContentType.JSON])
async def test_subscribe_heartbeat_offers_decline_teardown(
    real_mesos_cluster: RealMesos, content_type: ContentType
) -> None:
    async with HttpClient(real_mesos_cluster.url, content_type=content_type) as client:
        name = f"transport-{content_type.name.lower()}-{uuid.uuid4().hex[:6]}"
        stream = await client.subscribe(subscribe_call(name))
        assert stream.stream_id is not None
        assert len(stream.stream_id) == 36
        assert stream.leader == real_mesos_cluster.url
        async with asyncio.timeout(30):
            first = await anext(stream)
        assert first.type == Event.SUBSCRIBED
        framework_id = first.subscribed.framework_id.value
        assert first.subscribed.heartbeat_interval_seconds == 15.0
        assert first.subscribed.master_info.port == real_mesos_cluster.port
        try:
            # The first HEARTBEAT follows SUBSCRIBED at once, but the real master
            # may put the first OFFERS in between (seen on 1.11): accept either order.
            seen: dict[int, scheduler_pb2.Event] = {}
            async with asyncio.timeout(60):
                while not {Event.HEARTBEAT, Event.OFFERS} <= seen.keys():
                    event = await anext(stream)
                    assert event.type in (Event.HEARTBEAT, Event.OFFERS), event
                    seen.setdefault(event.type, event)
            offers = seen[Event.OFFERS]
            assert offers.offers.offers
            decline = Call(type=Call.DECLINE)
            decline.framework_id.value = framework_id
            for offer in offers.offers.offers:
                decline.decline.offer_ids.add().CopyFrom(offer.id)
            assert await client.send(decline, stream_id=stream.stream_id) == b""  # 202
        finally:
            teardown = Call(type=Call.TEARDOWN)
            teardown.framework_id.value = framework_id
            assert await client.send(teardown, stream_id=stream.stream_id) == b""
        await stream.close()


async def test_malformed_calls_are_typed_errors_with_the_masters_text(framework: Framework) -> None:
    client, stream = framework.client, framework.stream
    teardown = framework.call(Call.TEARDOWN)
    body = encode(teardown, ContentType.JSON)

    with pytest.raises(BadRequest) as bad:
        await client.request(body, stream_id=stream.stream_id, headers={"Content-Type": None})
    assert bad.value.body == "Expecting 'Content-Type' to be present"

    with pytest.raises(UnsupportedMediaType) as media:
        await client.request(
            body, stream_id=stream.stream_id, headers={"Content-Type": "application/json; charset=utf-8"}
        )
    assert media.value.body == "Expecting 'Content-Type' of application/json or application/x-protobuf"

    with pytest.raises(MethodNotAllowed) as method:
        await client.request(body, stream_id=stream.stream_id, method="GET", call_type="TEARDOWN")
    assert method.value.body == "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
    assert method.value.call_type == "TEARDOWN"

    with pytest.raises(BadRequest) as parse:
        await client.request(b'{"type": "TEARDOWN",', stream_id=stream.stream_id)
    assert parse.value.body.startswith("Failed to parse body into JSON: ")

    with pytest.raises(BadRequest) as no_stream:
        await client.send(framework.call(Call.REVIVE))
    assert no_stream.value.body == "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
    assert no_stream.value.call_type == "REVIVE"

    with pytest.raises(BadRequest) as wrong_stream:
        await client.send(framework.call(Call.REVIVE), stream_id=str(uuid.uuid4()))
    assert "didn't match the stream ID currently associated with framework ID" in wrong_stream.value.body

    unknown = Call(type=Call.REVIVE)
    unknown.framework_id.value = f"{uuid.uuid4()}-0042"
    with pytest.raises(BadRequest) as missing:
        await client.send(unknown, stream_id=stream.stream_id)
    assert missing.value.body == "Framework cannot be found"

    with pytest.raises(BadRequest) as validation:
        await client.send(Call(type=Call.REVIVE), stream_id=stream.stream_id)
    assert (
        validation.value.body == "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"
    )

    # The stream is still fine after all that.
    assert await client.send(framework.call(Call.REVIVE), stream_id=stream.stream_id) == b""
