"""`Session`: a framework's events as an async iterator, with the calls beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import Session, calls
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import until

Event = scheduler_pb2.Event


def framework(name: str) -> mesos_pb2.FrameworkInfo:
    return mesos_pb2.FrameworkInfo(user="root", name=name, failover_timeout=0)


def task_on(offer: mesos_pb2.Offer, task_id: str) -> mesos_pb2.TaskInfo:
    task = mesos_pb2.TaskInfo(name="raw")
    task.task_id.value = task_id
    task.agent_id.CopyFrom(offer.agent_id)
    task.command.value = "sleep 300"
    for name, amount in (("cpus", 0.1), ("mem", 16.0)):
        res = task.resources.add(name=name, type=mesos_pb2.Value.SCALAR)
        res.scalar.value = amount
    return task


async def test_a_raw_framework_launches_acknowledges_and_kills(local_cluster: LocalCluster) -> None:
    seen: list[str] = []
    states: list[TaskState] = []
    async with Session(local_cluster.url, framework("raw")) as session:
        async with asyncio.timeout(60):
            async for event in session:
                seen.append(Event.Type.Name(event.type))
                if event.type == Event.SUBSCRIBED:
                    assert session.framework_id == event.subscribed.framework_id.value
                    assert session.connected
                elif event.type == Event.OFFERS and "t1" not in str(states):
                    offer = event.offers.offers[0]
                    await session.accept([offer.id], calls.launch([task_on(offer, "t1")]))
                    states.append(TaskState.TASK_STAGING)
                elif event.type == Event.UPDATE:
                    status = event.update.status
                    states.append(TaskState(status.state))
                    session.acknowledge_later(status)
                    if status.state == TaskState.TASK_RUNNING:
                        await session.kill("t1", status.agent_id)
                    elif status.state == TaskState.TASK_KILLED:
                        await session.send(calls.teardown())
                        break
    assert seen[0] == "SUBSCRIBED"
    assert TaskState.TASK_RUNNING in states and states[-1] == TaskState.TASK_KILLED
    assert not session.connected


@pytest.fixture
async def silent_master() -> AsyncIterator[str]:
    """Accepts TCP connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_subscribe_to_a_silent_master_is_bounded_by_the_connection_timeout(
    silent_master: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Each SUBSCRIBE attempt gives up after connect_timeout (1 s), not request_timeout (600 s),
    # and is retried with backoff.
    caplog.set_level(logging.WARNING, logger="mesos_framework.transport.http")
    session = Session(silent_master, framework("silent"), connect_timeout=1.0, request_timeout=600.0)

    def attempts() -> list[str]:
        return [r.getMessage() for r in caplog.records if "no master accepted SUBSCRIBE" in r.getMessage()]

    async def consume() -> None:
        async for _ in session:
            pass

    runner = asyncio.ensure_future(consume())
    try:
        await until(lambda: len(attempts()) >= 2, timeout=120, what="two SUBSCRIBE attempts")
    finally:
        await session.close()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    assert all("no answer within 1s" in message for message in attempts())
    assert not session.connected
