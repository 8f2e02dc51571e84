"""Calls the scheduler makes on its own (ACKNOWLEDGE, DECLINE, REVIVE, SUPPRESS, RECONCILE) that
fail because their connection broke: made good without an `error` event, as the scheduler
promises for what it can fix by itself (docs/events.md). The master here cuts the calls
connection under the first call of a chosen type, answering nothing, while the event stream
holds."""

from __future__ import annotations

import collections
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from mesos_framework.protocol import ContentType, decode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from tests.integration.scheduler_helpers import until
from tests.integration.test_scheduler_ack_sender import _Replay
from tests.integration.test_scheduler_offers_nowait import WEB, calls_connection_open
from tests.integration.test_scheduler_scripted import ScriptedMaster, launched, push_offer, scheduler

Call = scheduler_pb2.Call


class CuttingMaster(ScriptedMaster):
    """Closes the connection, answering nothing, under the next ``cut[type]`` calls of a type
    (each is recorded: the master may have taken it, as a real one may have); answers 400
    to the calls of the types in ``refuse``."""

    def __init__(self) -> None:
        super().__init__()
        self.cut: collections.Counter[int] = collections.Counter()
        self.refuse: set[int] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = decode(Call, body, ContentType.JSON)
        if self.cut[call.type] > 0:
            self.cut[call.type] -= 1
            self.calls.append(call)
            assert request.transport is not None
            request.transport.abort()  # a reset, as a proxy's or a crashed peer's
            return web.Response(status=202)
        if call.type in self.refuse:
            self.calls.append(call)
            return web.Response(status=400, text="Offer o1 is no longer valid")
        return await super().handle(_Replay(request, body))  # type: ignore[arg-type]


@pytest.fixture
async def cutting() -> AsyncIterator[CuttingMaster]:
    async with CuttingMaster() as m:
        yield m


def _types(master: ScriptedMaster) -> list[str]:
    return [Call.Type.Name(c.type) for c in master.calls]


async def test_a_decline_cut_off_is_sent_again_not_reported(cutting: CuttingMaster) -> None:
    s = scheduler(cutting)  # no tasks: every offer is declined
    errors: list[BaseException] = []
    declined: list[Any] = []
    s.on("error", errors.append)
    s.on("sent_decline", declined.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, cutting)
        cutting.cut[Call.DECLINE] = 1
        push_offer(cutting, "o1")
        await until(lambda: bool(declined), timeout=10, what="the DECLINE sent again")
    # Without the second DECLINE the offer would stay with the framework while it is subscribed.
    assert [c.decline.offer_ids[0].value for c in cutting.of_type(Call.DECLINE)] == ["o1", "o1"]
    assert len(declined) == 1
    assert errors == []


async def test_an_acknowledgement_cut_off_is_logged_and_the_resent_update_acknowledged(
    cutting: CuttingMaster, caplog: pytest.LogCaptureFixture
) -> None:
    s = scheduler(cutting)
    errors: list[BaseException] = []
    acked: list[Any] = []
    s.on("error", errors.append)
    s.on("sent_acknowledge", acked.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, cutting)
        cutting.cut[Call.ACKNOWLEDGE] = 1
        with caplog.at_level(logging.WARNING, logger="mesos_framework.scheduler"):
            cutting.push_update("t-1", mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
            await until(lambda: "Mesos will resend those updates" in caplog.text, timeout=10, what="logged")
        # The agent resends an update until it is acknowledged: this time the answer comes.
        cutting.push_update("t-1", mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
        await until(lambda: len(acked) == 2, timeout=10, what="the resent update acknowledged")
    uuids = [c.acknowledge.uuid for c in cutting.of_type(Call.ACKNOWLEDGE)]
    assert uuids == [b"\x09" * 16, b"\x01" * 16, b"\x01" * 16]
    assert errors == []


async def test_a_suppress_cut_off_is_sent_again(cutting: CuttingMaster) -> None:
    s = scheduler(cutting, tasks=WEB, exponential_backoff_minimum=0.05)
    errors: list[BaseException] = []
    suppressed: list[Any] = []
    s.on("error", errors.append)
    s.on("sent_suppress", suppressed.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, cutting)
        # Twice: a call cut off on a kept-alive connection is sent once more by the transport.
        cutting.cut[Call.SUPPRESS] = 2
        push_offer(cutting, "o1")  # the one instance launches: no more offers are wanted
        await until(lambda: len(launched(cutting)) == 1, timeout=10, what="the ACCEPT")
        await until(lambda: bool(suppressed), timeout=10, what="the SUPPRESS sent again")
    assert _types(cutting).count("SUPPRESS") == 3
    assert errors == []


async def test_a_call_the_master_refuses_is_still_reported(cutting: CuttingMaster) -> None:
    """Only a broken connection is made good quietly: a DECLINE Mesos refuses is an error."""
    cutting.refuse.add(Call.DECLINE)
    s = scheduler(cutting)
    errors: list[BaseException] = []
    s.on("error", errors.append)
    async with s:
        await s.subscribe(timeout=10)
        await calls_connection_open(s, cutting)
        push_offer(cutting, "o1")
        await until(lambda: bool(errors), timeout=10, what="the 400 reported")
    assert "400" in str(errors[0])
    assert _types(cutting).count("DECLINE") == 1
