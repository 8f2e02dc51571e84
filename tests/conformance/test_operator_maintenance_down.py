"""START_MAINTENANCE takes a machine down as Mesos 1.11 does: its agent is removed and shut
down, the tasks there end (TASK_LOST for a framework that is not partition-aware, with the
master's message), and the agent is gone from GET_AGENTS. Run on the local cluster and on a
real Mesos of its own (the shared one's agent must stay up); on the local cluster an agent of
the DOWN machine that registers is refused (real Mesos's agents cannot be restarted one by one
here), and the agent registers again, as a new agent, when restarted after STOP_MAINTENANCE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.local import LocalCluster
from mesos_framework.operator import MasterOperator
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info
from tests.support import real_mesos
from tests.support.prereq import unavailable


@pytest_asyncio.fixture(
    params=[pytest.param("local", id="local"), pytest.param("real", id="real", marks=pytest.mark.real_mesos)]
)
async def down(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, LocalCluster | None]]:
    """The master's URL, and the local cluster (None for real Mesos)."""
    if request.param == "local":
        async with LocalCluster(allocation_interval=1.0) as cluster:
            yield cluster.url, cluster
        return
    why = real_mesos.available()
    if why:
        unavailable(why)
    real = real_mesos.RealMesos(agents=1)
    await asyncio.to_thread(real.start)
    try:
        yield real.url, None
    finally:
        await asyncio.to_thread(real.close)


async def agent_ids(op: MasterOperator) -> list[str]:
    return [a.agent_info.id.value for a in (await op.get_agents()).agents]


async def test_start_maintenance_shuts_the_agents_down(down: tuple[str, LocalCluster | None]) -> None:
    url, cluster = down
    async with aiohttp.ClientSession() as http, MasterOperator(url) as op:
        s = RawScheduler(url, http)
        try:
            await s.subscribe(framework_info("machine-down"))
            offer = (await s.offers(within=60))[0]
            agent_id = offer["agent_id"]["value"]
            task_id = await s.launch(offer, {"value": "sleep 600"})
            while (status := await s.update(task_id, within=60))["state"] != "TASK_RUNNING":
                await s.ack(status)
            await s.ack(status)
            (agent,) = [a for a in (await op.get_agents()).agents if a.agent_info.id.value == agent_id]
            machine = {
                "hostname": agent.agent_info.hostname,
                "ip": agent.pid.rpartition("@")[2].split(":")[0],
            }
            await op.update_maintenance_schedule(
                {"windows": [{"machine_ids": [machine], "unavailability": {"start": {"nanoseconds": 1}}}]}
            )
            await op.start_maintenance([machine])
            while (status := await s.update(task_id, within=60))["state"] not in TERMINAL:
                await s.ack(status)
            assert status["state"] == "TASK_LOST"
            assert (
                status["message"] == f"Agent {machine['hostname']} removed: Operator initiated 'Machine DOWN'"
            )
            assert status["reason"] == "REASON_AGENT_REMOVED"
            assert status["source"] == "SOURCE_MASTER"
            assert agent_id not in await agent_ids(op)
            down_machines = (await op.get_maintenance_status()).status.down_machines
            assert [m.hostname for m in down_machines] == [machine["hostname"]]
            if cluster is not None:
                # An agent of the DOWN machine that registers is refused and shut down (Mesos's
                # ShutdownMessage "Machine is `DOWN`").
                refused = await cluster.add_agent()
                assert refused.id is None
                assert refused.reachable is False  # shut down: its endpoints hang up
                assert await agent_ids(op) == []
            await op.stop_maintenance([machine])
            if cluster is not None:
                local_agent = cluster.agents[0]
                await cluster.restart_agent(local_agent.index)
                for _ in range(120):
                    if await agent_ids(op):
                        break
                    await asyncio.sleep(0.25)
                (new_id,) = await agent_ids(op)
                assert new_id != agent_id
        finally:
            await s.teardown()
