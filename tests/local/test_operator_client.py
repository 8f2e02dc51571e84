"""MasterOperator's event stream against the local cluster: reconnects, silence, errors."""

from __future__ import annotations

import asyncio

import pytest

from mesos_framework.errors import ConfigurationError, NotFound, SubscriptionLost
from mesos_framework.local import LocalCluster
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import mesos
from tests.local.conftest import Factory

SUBSCRIBED = mesos.master.Event.SUBSCRIBED


async def test_subscribe_reconnects_after_the_stream_ends(cluster: LocalCluster) -> None:
    async with MasterOperator(cluster.url) as op, op.subscribe() as events:
        assert (await asyncio.wait_for(anext(events), 30)).type == SUBSCRIBED
        master = cluster.masters[0]
        for stream in list(master.operator_streams):  # the fault: the master ends the stream
            stream.close()
        again = await asyncio.wait_for(anext(events), 30)
        assert again.type == SUBSCRIBED
        assert events.subscriptions == 2


async def test_subscribe_without_reconnect_raises(cluster: LocalCluster) -> None:
    async with MasterOperator(cluster.url) as op, op.subscribe(reconnect=False) as events:
        await asyncio.wait_for(anext(events), 30)
        for stream in list(cluster.masters[0].operator_streams):
            stream.close()
        with pytest.raises(Exception, match="stream"):
            await asyncio.wait_for(anext(events), 30)


async def test_silent_stream_is_lost() -> None:
    async with (
        LocalCluster(heartbeat_interval=0.2) as cluster,
        MasterOperator(cluster.url) as op,
        op.subscribe(reconnect=False) as events,
    ):
        await asyncio.wait_for(anext(events), 30)
        for stream in list(cluster.masters[0].operator_streams):  # the fault: heartbeats stop
            assert stream.heartbeat is not None
            stream.heartbeat.cancel()
        with pytest.raises(SubscriptionLost, match="no event from the master"):
            async with asyncio.timeout(30):
                while True:
                    await anext(events)


async def test_task_events_and_agent_files(cluster: LocalCluster, scheduler: Factory) -> None:
    async with MasterOperator(cluster.url, content_type="application/json") as op, op.subscribe() as events:
        await asyncio.wait_for(anext(events), 30)
        s = await scheduler("operator-local")
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "echo hi; sleep 60"})
        async with asyncio.timeout(30):
            async for event in events:
                if event.type == mesos.master.Event.TASK_ADDED:
                    assert event.task_added.task.task_id.value == task_id
                elif (
                    event.type == mesos.master.Event.TASK_UPDATED
                    and event.task_updated.state == mesos.TASK_RUNNING
                ):
                    break
    agent = cluster.agents[0]
    async with AgentOperator.for_pid(agent.pid) as agent_op:
        tasks = await agent_op.get_tasks()
        assert [t.task_id.value for t in tasks.launched_tasks] == [task_id]
        containers = (await agent_op.get_containers()).containers
        assert containers[0].executor_id.value == task_id
        with pytest.raises(NotFound):
            await agent_op.read_file("/frameworks/none/executors/none/runs/latest/stdout")


def test_agent_pid_must_look_like_one() -> None:
    with pytest.raises(ConfigurationError, match="not an agent pid"):
        AgentOperator.for_pid("127.0.0.1:5051")
