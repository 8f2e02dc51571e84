"""Acknowledgements leave the event path: a slow ACKNOWLEDGE never holds up the next event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from mesos_framework.protocol import ContentType, decode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from tests.integration.scheduler_helpers import until
from tests.integration.test_scheduler_scripted import ScriptedMaster, scheduler

Call = scheduler_pb2.Call


class SlowAckMaster(ScriptedMaster):
    """Answers every ACKNOWLEDGE only once the test sets ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.acks_arrived: list[bytes] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = decode(Call, body, ContentType.JSON)
        if call.type == Call.ACKNOWLEDGE:
            self.acks_arrived.append(call.acknowledge.uuid)
            await self.release.wait()
            self.calls.append(call)
            return web.Response(status=202)
        return await super().handle(_Replay(request, body))  # type: ignore[arg-type]


class _Replay:
    """The request whose body was already read, for the base handler."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self._request = request
        self._body = body

    async def read(self) -> bytes:
        return self._body

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


@pytest.fixture
async def slow_master() -> AsyncIterator[SlowAckMaster]:
    m = SlowAckMaster()
    async with m:
        yield m


async def test_updates_are_handled_while_an_acknowledgement_is_in_flight(slow_master: SlowAckMaster) -> None:
    s = scheduler(slow_master)
    order: list[tuple[str, bytes]] = []
    s.on("update", lambda p: order.append(("update", p.status.uuid)))
    s.on("sent_acknowledge", lambda c: order.append(("ack", c.acknowledge.uuid)))
    uuids = [bytes([i]) * 16 for i in (1, 2, 3)]
    async with s:
        await s.subscribe(timeout=10)
        for n, uuid in enumerate(uuids):
            slow_master.push_update(f"t-{n}", mesos_pb2.TASK_RUNNING, uuid=uuid)
        # All three are handled although the first acknowledgement has no answer yet.
        await until(lambda: sum(kind == "update" for kind, _ in order) == 3, timeout=10, what="3 updates")
        assert slow_master.acks_arrived == uuids[:1]
        assert not any(kind == "ack" for kind, _ in order)
        slow_master.release.set()
        await until(lambda: sum(kind == "ack" for kind, _ in order) == 3, timeout=10, what="3 acks")
    # Sent one at a time, in the order of the updates, each after its update was handled.
    assert slow_master.acks_arrived == uuids
    assert [c.acknowledge.uuid for c in slow_master.of_type(Call.ACKNOWLEDGE)] == uuids
    assert order == [("update", u) for u in uuids] + [("ack", u) for u in uuids]


async def test_acknowledgements_queued_meanwhile_go_out_together_then_each_at_once(
    slow_master: SlowAckMaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesos_framework.transport import HttpClient

    batches: list[tuple[str, int]] = []
    send_many, send_nowait = HttpClient.send_many, HttpClient.send_nowait

    async def spy_many(
        self: HttpClient[Any], calls: Any, stream_id: str | None = None, *, lazy: bool = False
    ) -> Any:
        batches.append(("awaited", len(calls)))
        return await send_many(self, calls, stream_id, lazy=lazy)

    def spy_nowait(self: HttpClient[Any], calls: Any, done: Any, stream_id: str | None = None) -> bool:
        written = send_nowait(self, calls, done, stream_id)
        if written:
            batches.append(("written", len(calls)))
        return written

    monkeypatch.setattr(HttpClient, "send_many", spy_many)
    monkeypatch.setattr(HttpClient, "send_nowait", spy_nowait)
    s = scheduler(slow_master)
    acked: list[bytes] = []
    handled: list[bytes] = []
    s.on("sent_acknowledge", lambda c: acked.append(c.acknowledge.uuid))
    s.on("update", lambda p: handled.append(p.status.uuid))
    uuids = [bytes([i]) * 16 for i in range(1, 7)]
    async with s:
        await s.subscribe(timeout=10)
        slow_master.push_update("t-0", mesos_pb2.TASK_RUNNING, uuid=uuids[0])
        await until(lambda: len(slow_master.acks_arrived) == 1, timeout=10, what="the first ack")
        for n, uuid in enumerate(uuids[1:5], 1):
            slow_master.push_update(f"t-{n}", mesos_pb2.TASK_RUNNING, uuid=uuid)
        # The other four updates are handled (their acks queue up behind the first).
        await until(lambda: len(handled) == 5, timeout=10, what="5 updates handled")
        await asyncio.sleep(0)
        slow_master.release.set()
        await until(lambda: len(acked) == 5, timeout=10, what="5 acks")
        # The calls connection is open now: the next update's acknowledgement is written at
        # once, in the pass that handled the update.
        slow_master.push_update("t-5", mesos_pb2.TASK_RUNNING, uuid=uuids[5])
        await until(lambda: len(acked) == 6, timeout=10, what="6 acks")
    # The first opened the calls connection (awaited, alone); the four queued behind it went
    # out in one pipelined write; the last alone, as it came.
    assert batches == [("awaited", 1), ("written", 4), ("written", 1)]
    assert acked == uuids
    assert [c.acknowledge.uuid for c in slow_master.of_type(Call.ACKNOWLEDGE)] == uuids


async def test_a_resent_update_is_not_acknowledged_twice_at_once(slow_master: SlowAckMaster) -> None:
    s = scheduler(slow_master)
    handled: list[bytes] = []
    s.on("update", lambda p: handled.append(p.status.uuid))
    first, second = b"\x01" * 16, b"\x02" * 16
    async with s:
        await s.subscribe(timeout=10)
        slow_master.push_update("t-0", mesos_pb2.TASK_RUNNING, uuid=first)
        await until(lambda: len(slow_master.acks_arrived) == 1, timeout=10, what="the first ack")
        # The agent resends while the acknowledgement is in flight: each resend is an
        # update for the listeners, but no second ACKNOWLEDGE while the first is unanswered.
        slow_master.push_update("t-0", mesos_pb2.TASK_RUNNING, uuid=first)
        slow_master.push_update("t-1", mesos_pb2.TASK_RUNNING, uuid=second)
        slow_master.push_update("t-1", mesos_pb2.TASK_RUNNING, uuid=second)
        await until(lambda: len(handled) == 4, timeout=10, what="4 updates handled")
        slow_master.release.set()
        await until(lambda: len(slow_master.of_type(Call.ACKNOWLEDGE)) == 2, timeout=10, what="2 acks")
        # Once answered, a resend of the same update is acknowledged again (the first may have been lost).
        slow_master.push_update("t-0", mesos_pb2.TASK_RUNNING, uuid=first)
        await until(lambda: len(slow_master.of_type(Call.ACKNOWLEDGE)) == 3, timeout=10, what="3 acks")
    assert slow_master.acks_arrived == [first, second, first]
