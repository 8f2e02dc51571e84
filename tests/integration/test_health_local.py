"""The health helper checking a real task: an HTTP server launched on the local cluster."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mesos_framework.health import AdditionalProperty, TaskHealthHelper
from mesos_framework.local import LocalCluster
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from tests.unit.executor.raw_scheduler import RawScheduler, _small

Call = scheduler_pb2.Call


@dataclass
class Tracked:
    """What a scheduler knows about a launched task, as the helper reads it."""

    task_id: str
    name: str
    hostname: str
    ports: list[int]
    scheduler: RawScheduler
    ip: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        states = self.scheduler.states(self.task_id)
        return states[-1] if states else "TASK_STAGING"


class Target:
    """The scheduler side of the helper: tracked tasks and emitted events."""

    def __init__(self) -> None:
        self.launched_tasks: list[Tracked] = []
        self.events: list[tuple[str, Any]] = []

    def emit(self, event: str, payload: Any) -> None:
        self.events.append((event, payload))


@pytest.fixture
async def scheduler(local_cluster: LocalCluster) -> AsyncIterator[RawScheduler]:
    sched = RawScheduler(local_cluster.url)
    await sched.subscribe("health-tests")
    try:
        yield sched
    finally:
        await sched.close()


async def launch_web_server(scheduler: RawScheduler) -> Tracked:
    offer = await scheduler.take_offer(0.1, 32)
    port = next(r.ranges.range[0].begin for r in offer.resources if r.name == "ports")
    task_id = f"web-{uuid.uuid4().hex[:8]}"
    call = Call(type=Call.ACCEPT)
    call.accept.offer_ids.add().CopyFrom(offer.id)
    call.accept.filters.refuse_seconds = 0.0
    task = call.accept.operations.add(type=mesos_pb2.Offer.Operation.LAUNCH).launch.task_infos.add(
        name="web-1"
    )
    task.task_id.value = task_id
    task.agent_id.CopyFrom(offer.agent_id)
    task.resources.extend(_small(offer))
    ports = task.resources.add()
    ports.CopyFrom(next(r for r in offer.resources if r.name == "ports"))  # keeps role and allocation info
    del ports.ranges.range[:]
    ports.ranges.range.add(begin=port, end=port)
    task.command.shell = False
    task.command.value = sys.executable
    task.command.arguments.extend([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    await scheduler.call(call)
    await scheduler.until_state(task_id, "TASK_RUNNING")
    return Tracked(task_id, "web-1", offer.hostname, [port], scheduler, ip="127.0.0.1")


async def test_health_of_a_real_task(scheduler: RawScheduler) -> None:
    web = await launch_web_server(scheduler)
    assert web.state == "TASK_RUNNING", scheduler.updates[-1].message
    target = Target()
    target.launched_tasks.append(web)
    healthy = TaskHealthHelper(
        target, url="/", grace_count=1000, address="ip", additional_properties=[AdditionalProperty("serving")]
    )
    missing = TaskHealthHelper(
        target,
        url="/no-such-page",
        grace_count=2,
        address="ip",
        property_prefix="page_",
        task_name_filter="^web-",
    )
    try:
        # The server may need a moment after TASK_RUNNING before it listens.
        for _ in range(200):
            await healthy.check_running_instances()
            if web.properties.get("healthy") is True:
                break
            await asyncio.sleep(0.05)
        assert web.properties["healthy"] is True
        assert web.properties["checkFailCount"] == 0
        assert web.properties["serving"] is True
        for _ in range(2):
            await missing.check_running_instances()
        assert web.properties["page_checkFailCount"] == 2
        assert web.properties["page_healthy"] is False
        assert target.events == [("page_task_unhealthy", web)]
        # A killed task is no longer checked.
        await scheduler.kill(web.task_id, mesos_pb2.AgentID(value=scheduler.updates[-1].agent_id.value))
        await scheduler.until_state(web.task_id, "TASK_KILLED")
        await missing.check_running_instances()
        assert web.properties["page_checkFailCount"] == 2
        assert len(target.events) == 1
    finally:
        await healthy.close()
        await missing.close()
