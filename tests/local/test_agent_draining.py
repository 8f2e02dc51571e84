"""The agent's own side of DRAIN_AGENT on the local cluster, as Mesos 1.11's agent does it.

The master calls an agent DRAINED once the tasks it knows of ended, but the agent drains until
nothing at all is left on it: here, the task of a framework that was torn down, which ignores
SIGTERM and lives out the executor's shutdown grace period. Meanwhile ``GET_AGENT`` (and the
agent's ``/state``) show the drain, and a launch that reaches the agent (it was reactivated, so
it is offered again) is dropped: ``TASK_LOST``, or ``TASK_DROPPED`` for a partition-aware
framework, with ``REASON_AGENT_DRAINING``. Once the lingering task is gone the drain ends and
launches run again. (The conformance drain case checks ``GET_AGENT``'s drain on real Mesos too;
this window is too short there, three seconds of the stand-in executor's grace, to be timed on a
loaded machine.)
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import mesos
from tests.conformance.rawclient import RawScheduler, framework_info

GRACE = 8.0  # how long the torn-down framework's task outlives its framework


async def running_task(s: RawScheduler, command: str) -> tuple[str, str]:
    """Launch ``command`` on the next offer; (agent id, task id) once it runs."""
    offer = (await s.offers(within=60))[0]
    task_id = await s.launch(offer, {"value": command})
    while (status := await s.update(task_id, within=60))["state"] != "TASK_RUNNING":
        await s.ack(status)
    await s.ack(status)
    return offer["agent_id"]["value"], task_id


@pytest.mark.timeout(120)
async def test_a_draining_agent_drops_launches_until_nothing_is_left() -> None:
    async with (
        LocalCluster(allocation_interval=0.2, executor_shutdown_grace_period=GRACE) as cluster,
        aiohttp.ClientSession() as http,
        MasterOperator(cluster.url) as op,
    ):
        gone = RawScheduler(cluster.url, http)
        await gone.subscribe(framework_info("drain-leftover"))
        agent_id, _ = await running_task(gone, "trap '' TERM; sleep 600")
        await gone.teardown()  # its task lingers for GRACE seconds, unknown to the master

        (entry,) = (await op.get_agents()).agents
        async with AgentOperator.for_pid(entry.pid) as agent_op:
            await op.drain_agent(agent_id, max_grace_period=1.0)
            (drained,) = (await op.get_agents()).agents
            assert drained.drain_info.state == mesos.DRAINED  # nothing the master knows of
            answer = await agent_op.get_agent()
            assert answer.drain_config.max_grace_period.nanoseconds == 1_000_000_000
            assert answer.estimated_drain_start_time.nanoseconds > 0
            async with http.get(f"{cluster.url}/slave(1)/state") as r:
                state = await r.json()
            config = {"mark_gone": False, "max_grace_period": {"nanoseconds": 1_000_000_000}}
            assert state["drain_config"] == config
            assert isinstance(state["estimated_drain_start_time_seconds"], int)
            await op.reactivate_agent(agent_id)

            dropped: dict[str, dict[str, object]] = {}
            for name, capabilities in (("drain-lost", ()), ("drain-dropped", ("PARTITION_AWARE",))):
                s = RawScheduler(cluster.url, http)
                try:
                    await s.subscribe(framework_info(name, *capabilities))
                    offer = (await s.offers(within=60))[0]
                    task_id = await s.launch(offer, {"value": "sleep 600"})
                    status = await s.update(task_id, within=30)
                    dropped[name] = status
                    await s.ack(status)
                finally:
                    await s.teardown()
            for name, state_name in (("drain-lost", "TASK_LOST"), ("drain-dropped", "TASK_DROPPED")):
                status = dropped[name]
                assert status["state"] == state_name, status
                assert status["reason"] == "REASON_AGENT_DRAINING"
                assert status["source"] == "SOURCE_AGENT"
                assert status["message"] == "Task was received while agent was already draining"

            for _ in range(int(GRACE * 4) + 40):  # the lingering task ends: so does the drain
                if not (await agent_op.get_agent()).HasField("drain_config"):
                    break
                await asyncio.sleep(0.25)
            assert not (await agent_op.get_agent()).HasField("drain_config")
            async with http.get(f"{cluster.url}/slave(1)/state") as r:
                assert "drain_config" not in await r.json()

        again = RawScheduler(cluster.url, http)
        try:
            await again.subscribe(framework_info("drain-after"))
            await running_task(again, "sleep 600")  # launches run again
        finally:
            await again.teardown()
