"""MasterOperator's event stream against the local cluster: reconnects, silence, errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mesos_framework.errors import BadRequest, ConfigurationError, MessageError, NotFound, SubscriptionLost
from mesos_framework.local import LocalCluster
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import mesos
from tests.conformance.rawclient import TERMINAL
from tests.local.conftest import Factory
from tests.support.zookeeper import ZooKeeperServer

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


@pytest.mark.parametrize("encoding", ["application/x-protobuf", "application/json"])
async def test_task_events_and_agent_files(cluster: LocalCluster, scheduler: Factory, encoding: str) -> None:
    async with MasterOperator(cluster.url, content_type=encoding) as op, op.subscribe() as events:
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
        added = await cluster.add_agent()
        async with asyncio.timeout(30):
            async for event in events:
                if event.type == mesos.master.Event.AGENT_ADDED:
                    break
        assert event.agent_added.agent.agent_info.id.value == added.id
        cluster.remove_agent(added.index)
        async with asyncio.timeout(30):
            async for event in events:
                if event.type == mesos.master.Event.AGENT_REMOVED:
                    break
        assert event.agent_removed.agent_id.value == added.id
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


async def test_teardown_mark_gone_and_logging_level_revert(cluster: LocalCluster, scheduler: Factory) -> None:
    s = await scheduler("operator-gone", "PARTITION_AWARE")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 60"})
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    async with MasterOperator(cluster.url) as op:
        await op.set_logging_level(1, 0.3)
        assert (await op.get_logging_level()).level == 1
        await asyncio.sleep(0.6)
        assert (await op.get_logging_level()).level == 0  # back when the duration is over

        await op.mark_agent_gone(offer["agent_id"]["value"])
        gone = await s.update(task_id)
        assert gone["state"] == "TASK_GONE_BY_OPERATOR"
        assert not (await op.get_agents()).agents
        await op.mark_agent_gone(offer["agent_id"]["value"])  # again: still 200, as Mesos answers

        await op.teardown(s.framework_id)
        assert not (await op.get_frameworks()).frameworks


@pytest.mark.zookeeper
async def test_events_follow_the_leader_through_zookeeper(zookeeper_server: ZooKeeperServer) -> None:
    url = f"zk://{zookeeper_server.hosts}/mesos-operator-{uuid.uuid4().hex[:8]}"
    async with (
        LocalCluster(masters=2, zk=url, agents=1, allocation_interval=0.2) as cluster,
        MasterOperator(url) as op,
        op.subscribe(give_up_after=60.0) as events,
    ):
        first = await asyncio.wait_for(anext(events), 30)
        assert first.type == SUBSCRIBED
        leader = cluster.master
        assert (await op.get_master()).master_info.id == leader.id
        new = await cluster.fail_over_master()
        async with asyncio.timeout(60):
            async for event in events:
                if event.type == SUBSCRIBED:
                    break
        assert events.subscriptions == 2
        assert op.leader == f"http://127.0.0.1:{new.port}"
        assert (await op.get_master()).master_info.id == new.id


async def test_a_malformed_argument_is_a_message_error(cluster: LocalCluster) -> None:
    async with MasterOperator(cluster.url) as op:
        with pytest.raises(MessageError, match="update_maintenance_schedule") as info:
            await op.update_maintenance_schedule({"windows": [{"machine_idz": []}]})
        assert info.value.path == "update_maintenance_schedule"
        with pytest.raises(MessageError, match="reserve_resources"):
            await op.reserve_resources("S0", [{"name": "cpus", "type": "NOT_A_TYPE"}])


async def test_agent_container_calls(cluster: LocalCluster, scheduler: Factory) -> None:
    """The local agent's containers are its executors: KILL_CONTAINER signals one (its task
    fails), launches are Mesos's 400 for an unsupported container, unknown ones Mesos's 404."""
    s = await scheduler("operator-containers")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 60"})
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    async with AgentOperator.for_pid(cluster.agents[0].pid, content_type="application/json") as agent_op:
        (container,) = (await agent_op.get_containers()).containers
        assert container.executor_id.value == task_id
        cid = container.container_id.value
        with pytest.raises(BadRequest, match="The provided ContainerInfo is not supported"):
            await agent_op.launch_container("standalone", command={"value": "true"})
        with pytest.raises(NotFound, match="Container 'nope' cannot be found \\(or is already killed\\)"):
            await agent_op.kill_container("nope")
        with pytest.raises(NotFound, match="Container nope cannot be found"):
            await agent_op.wait_container("nope")
        await agent_op.kill_container(cid, signal=15)
        while (st := await s.update(task_id))["state"] not in TERMINAL:
            await s.ack(st)
        assert st["state"] in ("TASK_FAILED", "TASK_KILLED")
