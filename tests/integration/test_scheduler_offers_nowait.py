"""Offers are answered in the offer's own pass: the ACCEPT (or DECLINE) is written at once and
its answer handled when read, so the events after an offer never wait for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from mesos_framework.protocol import ContentType, decode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import until
from tests.integration.test_scheduler_ack_sender import _Replay
from tests.integration.test_scheduler_scripted import ScriptedMaster, launched, push_offer, scheduler

Call = scheduler_pb2.Call

WEB = {"web": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}}


class SlowAcceptMaster(ScriptedMaster):
    """Answers each ACCEPT only once the test sets ``release`` (or cuts the answer off with
    ``cut``); notes the order in which calls arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.cut = False
        self.arrived: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = decode(Call, body, ContentType.JSON)
        if call.type != Call.SUBSCRIBE:
            self.arrived.append(Call.Type.Name(call.type))
        if call.type == Call.ACCEPT:
            await self.release.wait()
            self.calls.append(call)
            if self.cut:
                assert request.transport is not None
                request.transport.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nabc")
                request.transport.close()
                return web.Response(status=202)
            return web.Response(status=202)
        return await super().handle(_Replay(request, body))  # type: ignore[arg-type]


async def calls_connection_open(s: Scheduler, scripted: ScriptedMaster) -> None:
    """An acknowledged update: the calls connection the offers' calls are written on is open
    (before it is, they are sent the awaited way)."""
    acked: list[Any] = []
    s.on("sent_acknowledge", acked.append)
    scripted.push_update("earlier", mesos_pb2.TASK_RUNNING, uuid=b"\x09" * 16)
    await until(lambda: bool(acked), timeout=10, what="the first acknowledgement")


@pytest.fixture
async def slow_master() -> AsyncIterator[SlowAcceptMaster]:
    async with SlowAcceptMaster() as m:
        yield m


async def test_updates_after_an_offer_are_handled_while_its_accept_waits_for_an_answer(
    slow_master: SlowAcceptMaster,
) -> None:
    s = scheduler(slow_master, tasks=WEB)
    order: list[str] = []
    s.on("sent_accept", lambda call: order.append("sent_accept"))
    s.on("update", lambda payload: order.append(f"update {payload.status.task_id.value}"))
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, slow_master)
        order.clear()
        push_offer(slow_master, "o1")
        await until(lambda: "ACCEPT" in slow_master.arrived, what="the ACCEPT written")
        slow_master.push_update("other", mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
        await until(lambda: order == ["update other"], timeout=10, what="the update handled")
        assert [r.name for r in s.tasks] == ["web-1"]  # launching meanwhile
        slow_master.release.set()
        await until(lambda: "sent_accept" in order, timeout=10, what="sent_accept")
    assert order == ["update other", "sent_accept"]
    assert len(launched(slow_master)) == 1


async def test_a_reconciliation_waits_for_the_accept_in_flight(
    slow_master: SlowAcceptMaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesos_framework.transport import HttpClient

    # What is sent: a RECONCILE written while the ACCEPT waits might take another connection
    # and overtake it (or, pipelined behind it, be held up by it).
    sent: list[str] = []
    send = HttpClient.send

    async def spy(self: HttpClient[Any], call: Any, **kwargs: Any) -> bytes:
        sent.append(Call.Type.Name(call.type))
        return await send(self, call, **kwargs)

    monkeypatch.setattr(HttpClient, "send", spy)
    s = scheduler(slow_master, tasks=WEB)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, slow_master)
        push_offer(slow_master, "o1")
        await until(lambda: "ACCEPT" in slow_master.arrived, what="the ACCEPT written")
        sync = asyncio.ensure_future(s.sync())
        await asyncio.sleep(0.3)
        assert not sync.done()
        assert "RECONCILE" not in sent  # not sent before the ACCEPT's answer
        slow_master.release.set()
        async with asyncio.timeout(10):
            await sync
    arrived = slow_master.arrived
    assert arrived.index("ACCEPT") < arrived.index("RECONCILE")


async def test_an_accept_whose_answer_is_cut_off_is_reconciled(slow_master: SlowAcceptMaster) -> None:
    slow_master.cut = True
    slow_master.release.set()
    s = scheduler(slow_master, tasks=WEB)
    errors: list[BaseException] = []
    s.on("error", errors.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, slow_master)
        push_offer(slow_master, "o1")
        await until(lambda: len(launched(slow_master)) == 1, what="the ACCEPT")
        (task_id,) = launched(slow_master)

        def asked() -> list[str]:
            return [t.task_id.value for c in slow_master.of_type(Call.RECONCILE) for t in c.reconcile.tasks]

        # The master may or may not have launched it: it is asked about, and still counted.
        await until(lambda: task_id in asked(), timeout=10, what="the task reconciled")
        assert any("cut off" in str(e) for e in errors)
        assert [r.task_id for r in s.tasks] == [task_id]


async def test_an_offer_nothing_needs_is_declined_and_reported_sent(slow_master: SlowAcceptMaster) -> None:
    s = scheduler(slow_master)  # no tasks: every offer is declined
    declined: list[Any] = []
    s.on("sent_decline", declined.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, slow_master)
        push_offer(slow_master, "o1")
        await until(lambda: bool(declined), timeout=10, what="sent_decline")
    assert [c.decline.offer_ids[0].value for c in slow_master.of_type(Call.DECLINE)] == ["o1"]
