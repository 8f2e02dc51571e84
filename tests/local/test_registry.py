"""The local cluster's registry survives a master restart, as Mesos's replicated registry does:
the maintenance schedule and the machines' modes (a DOWN machine's agent is still refused),
quotas and weights."""

from __future__ import annotations

import asyncio

from mesos_framework.local import LocalCluster
from mesos_framework.operator import MasterOperator
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
        await cluster.fail_over_master()
        async with MasterOperator(url) as op:
            assert {w.role: w.weight for w in (await op.get_weights()).weight_infos} == {"web": 2.5}
            assert [c.role for c in (await op.get_quota()).status.configs] == ["web"]
            (down,) = (await op.get_maintenance_status()).status.down_machines
            assert down.hostname == "elsewhere"
