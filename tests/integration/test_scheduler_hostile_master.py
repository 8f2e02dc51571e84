"""A hostile or broken master (issue 15, item 6): heartbeat intervals it should not send, corrupt streams.

A scripted master (an aiohttp server on loopback) stands in for Mesos, because
a real one cannot be made to send these values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

import pytest
from aiohttp import web

from mesos_framework.errors import StreamDecodeError, SubscriptionLost
from mesos_framework.protocol import ContentType, decode, encode, recordio_encode
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.scheduler._session import (
    DEFAULT_HEARTBEAT_INTERVAL,
    MAX_HEARTBEAT_INTERVAL,
    MIN_HEARTBEAT_INTERVAL,
    _heartbeat_interval,
)
from tests.integration.scheduler_helpers import FakeMasterServer, until

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


class ScriptedMaster(FakeMasterServer):
    """SUBSCRIBED with ``interval`` as the heartbeat interval, then ``then`` (raw bytes), then silence."""

    def __init__(self, interval: float, then: bytes = b"") -> None:
        super().__init__()
        self.interval = interval
        self.then = then
        self.subscribes = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        call = decode(Call, await request.read(), ContentType.JSON)
        if call.type != Call.SUBSCRIBE:
            return web.Response(status=202)
        self.subscribes += 1
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Mesos-Stream-Id": f"s{self.subscribes}"},
        )
        await resp.prepare(request)
        ev = Event(type=Event.SUBSCRIBED)
        ev.subscribed.framework_id.value = "fw-hostile"
        ev.subscribed.heartbeat_interval_seconds = self.interval
        await resp.write(recordio_encode(encode(ev, ContentType.JSON)))
        if self.then:
            await resp.write(self.then)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return resp


def _scheduler(url: str) -> Scheduler:
    return Scheduler(
        master=url,
        framework_name="hostile",
        content_type="json",
        exponential_backoff_minimum=0.05,
        exponential_backoff_maximum=0.1,
    )


@pytest.mark.parametrize(
    ("sent", "used"),
    [
        (math.nan, DEFAULT_HEARTBEAT_INTERVAL),
        (math.inf, DEFAULT_HEARTBEAT_INTERVAL),
        (-5.0, DEFAULT_HEARTBEAT_INTERVAL),
        (0.0, DEFAULT_HEARTBEAT_INTERVAL),
        (1e308, MAX_HEARTBEAT_INTERVAL),
    ],
)
async def test_a_hostile_heartbeat_interval_is_replaced_with_a_warning(
    sent: float, used: float, caplog: pytest.LogCaptureFixture
) -> None:
    async with ScriptedMaster(sent) as master:
        s = _scheduler(master.url)
        with caplog.at_level(logging.WARNING, logger="mesos_framework"):
            async with s:
                await until(lambda: s.heartbeat_interval is not None, what="subscribed")
                # Liveness stays on, and no storm: with -5 s the old watchdog fired at once, 18 times in 7 s.
                await asyncio.sleep(1.5)
                assert s.heartbeat_interval == used
                assert master.subscribes == 1
        assert any("heartbeat interval" in r.getMessage() for r in caplog.records)


def test_heartbeat_interval_bounds() -> None:
    assert _heartbeat_interval(None) is None
    assert _heartbeat_interval(15.0) == 15.0
    assert _heartbeat_interval(0.2) == 0.2
    assert _heartbeat_interval(-0.0) == DEFAULT_HEARTBEAT_INTERVAL
    assert _heartbeat_interval(MAX_HEARTBEAT_INTERVAL * 2) == MAX_HEARTBEAT_INTERVAL
    assert _heartbeat_interval(1e-300) == MIN_HEARTBEAT_INTERVAL


@pytest.mark.parametrize(
    "garbage",
    [
        b"5\nxxxxx",  # a record that is not JSON
        b"not-a-length\n",  # not RecordIO at all
        b'9\n{"type":7}',  # JSON that is not an Event (an unknown enum number is kept; wrong shape below)
    ],
)
async def test_a_corrupt_stream_is_reported_as_an_error_and_resubscribed(garbage: bytes) -> None:
    if garbage.startswith(b"9\n"):
        garbage = recordio_encode(b'{"type": "HEARTBEAT", "offers": 3}')
    async with ScriptedMaster(15.0, then=garbage) as master:
        s = _scheduler(master.url)
        errors: list[BaseException] = []
        s.on("error", errors.append)
        async with s:
            await until(lambda: master.subscribes >= 2, timeout=30, what="a resubscription")
            await until(
                lambda: any(isinstance(e, StreamDecodeError) for e in errors),
                timeout=30,
                what="an error event with StreamDecodeError",
            )
        assert not any(isinstance(e, SubscriptionLost) for e in errors)
