"""The local cluster's registry survives a master restart, as Mesos's replicated registry does:
the maintenance schedule and the machines' modes (a DOWN machine's agent is still refused),
quotas and weights, deactivated agents and agents' drains (a draining agent that re-registers is
told to drain again)."""

from __future__ import annotations

import asyncio

import aiohttp

from mesos_framework.local import LocalCluster
from mesos_framework.operator import MasterOperator
from mesos_framework.protocol._schema import mesos_pb2
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.local.conftest import until_running
from tests.support.zookeeper import ZooKeeperServer


async def _agent_ids(cluster: LocalCluster) -> list[str]:
    async with MasterOperator(cluster.url) as op:
        return [a.agent_info.id.value for a in (await op.get_agents()).agents]


async def _until_agents(cluster: LocalCluster, count: int) -> list[str]:
    async with asyncio.timeout(60):
        while True:
            if len(ids := await _agent_ids(cluster)) == count:
                return ids
            await asyncio.sleep(0.1)


async def test_maintenance_quotas_and_weights_survive_a_master_restart(cluster: LocalCluster) -> None:
    (agent_id,) = await _until_agents(cluster, 1)
    async with MasterOperator(cluster.url) as op:
        (agent,) = (await op.get_agents()).agents
        machine = {"hostname": agent.agent_info.hostname, "ip": agent.pid.rpartition("@")[2].split(":")[0]}
        await op.update_weights({"web": 2.5})
        await op.update_quota([{"role": "web", "guarantees": {"cpus": {"value": 0.5}}}])
        window = {"machine_ids": [machine], "unavailability": {"start": {"nanoseconds": 1}}}
        await op.update_maintenance_schedule({"windows": [window]})

    await cluster.restart_master()
    async with MasterOperator(cluster.url) as op:
        assert {w.role: w.weight for w in (await op.get_weights()).weight_infos} == {"web": 2.5}
        (config,) = (await op.get_quota()).status.configs
        assert (config.role, config.guarantees["cpus"].value) == ("web", 0.5)
        (kept,) = (await op.get_maintenance_schedule()).schedule.windows
        assert [m.hostname for m in kept.machine_ids] == [machine["hostname"]]
        (draining,) = (await op.get_maintenance_status()).status.draining_machines
        assert draining.id.hostname == machine["hostname"]
        await _until_agents(cluster, 1)  # the agent re-registers: its machine is only draining
        await op.start_maintenance([machine])  # still DRAINING for the new master
        await _until_agents(cluster, 0)

    await cluster.restart_master()
    async with MasterOperator(cluster.url) as op:
        (down,) = (await op.get_maintenance_status()).status.down_machines
        assert down.hostname == machine["hostname"]
        # The DOWN machine's agents are refused by the new master too.
        refused = await cluster.add_agent()
        assert refused.id is None
        assert await _agent_ids(cluster) == []
        assert len((await op.get_weights()).weight_infos) == 1
        # Up again: the agent shut down before the restart registers anew once restarted.
        await op.stop_maintenance([machine])
        await cluster.restart_agent(cluster.agents[0].index)
        (new_id,) = await _until_agents(cluster, 1)
        assert new_id != agent_id
        assert not (await op.get_maintenance_schedule()).schedule.windows


async def test_the_registry_survives_a_fail_over(zookeeper_server: ZooKeeperServer) -> None:
    url = f"zk://{zookeeper_server.hosts}/registry-fail-over"
    async with LocalCluster(masters=2, zk=url, agents=1, allocation_interval=0.2) as cluster:
        async with MasterOperator(url) as op:
            await op.update_weights({"web": 2.5})
            await op.update_quota([{"role": "web", "guarantees": {"cpus": {"value": 0.5}}}])
            machine = {"hostname": "elsewhere", "ip": "10.0.0.9"}
            window = {"machine_ids": [machine], "unavailability": {"start": {"nanoseconds": 1}}}
            await op.update_maintenance_schedule({"windows": [window]})
            await op.start_maintenance([machine])
            (agent_id,) = [a.agent_info.id.value for a in (await op.get_agents()).agents]
            await op.deactivate_agent(agent_id)
        await cluster.fail_over_master()
        async with MasterOperator(url) as op:
            async with asyncio.timeout(60):
                while True:
                    if agents := (await op.get_agents()).agents:  # re-registered with the new leader
                        break
                    await asyncio.sleep(0.1)
            assert [(a.agent_info.id.value, a.active, a.deactivated) for a in agents] == [
                (agent_id, False, True)
            ]
            assert {w.role: w.weight for w in (await op.get_weights()).weight_infos} == {"web": 2.5}
            assert [c.role for c in (await op.get_quota()).status.configs] == ["web"]
            (down,) = (await op.get_maintenance_status()).status.down_machines
            assert down.hostname == "elsewhere"


async def test_deactivated_and_draining_agents_survive_a_master_restart(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    s = RawScheduler(cluster.url, http)
    await s.subscribe(framework_info("registry-drain", checkpoint=True, failover_timeout=300.0))
    offer = (await s.offers(within=60))[0]
    drained_id = offer["agent_id"]["value"]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    other = await cluster.add_agent()
    assert other.id is not None
    # The agent is down when the drain comes: the master's message to kill its tasks is lost.
    drained = cluster.stop_agent(cluster.agents[0].index)
    async with MasterOperator(cluster.url) as op:
        await op.drain_agent(drained_id, max_grace_period=1.0)
        await op.deactivate_agent(other.id)

    await cluster.restart_master()
    await s.close()
    await cluster.recover_agent(drained.index)
    async with MasterOperator(cluster.url) as op:
        # The new master tells the re-registered agent to drain: its task is killed, it is DRAINED.
        async with asyncio.timeout(60):
            while True:
                agents = {a.agent_info.id.value: a for a in (await op.get_agents()).agents}
                if len(agents) == 2 and agents[drained_id].drain_info.state == mesos_pb2.DRAINED:
                    break
                await asyncio.sleep(0.2)
        assert (agents[drained_id].active, agents[drained_id].deactivated) == (False, True)
        assert (agents[other.id].active, agents[other.id].deactivated) == (False, True)
        (task,) = (await op.get_tasks()).tasks  # terminal, its update not acknowledged yet
        assert (task.task_id.value, task.state) == (task_id, mesos_pb2.TASK_KILLED)
        assert task.statuses[-1].reason == mesos_pb2.TaskStatus.REASON_AGENT_DRAINING
        # Reactivating works on the new master, which knows both agents are deactivated.
        await op.reactivate_agent(other.id)
        await op.reactivate_agent(drained_id)
        agents = {a.agent_info.id.value: a for a in (await op.get_agents()).agents}
        assert all(a.active and not a.deactivated for a in agents.values())
        assert not agents[drained_id].HasField("drain_info")
