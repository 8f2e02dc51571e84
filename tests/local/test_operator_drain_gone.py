"""DRAIN_AGENT with ``mark_gone`` on the local cluster (real Mesos's shared test agent cannot be
marked gone): a partition-aware framework's task ends TASK_GONE_BY_OPERATOR, the drained agent
is gone, and its id is refused by later drains as an unknown agent."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from mesos_framework.errors import BadRequest
from mesos_framework.local import LocalCluster
from mesos_framework.operator import MasterOperator
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info


async def test_drain_marking_gone() -> None:
    async with (
        LocalCluster(allocation_interval=1.0) as cluster,
        aiohttp.ClientSession() as http,
        MasterOperator(cluster.url) as op,
    ):
        s = RawScheduler(cluster.url, http)
        try:
            await s.subscribe(framework_info("drain-gone", "PARTITION_AWARE"))
            offer = (await s.offers(within=60))[0]
            agent_id = offer["agent_id"]["value"]
            task_id = await s.launch(offer, {"value": "sleep 600"})
            while (status := await s.update(task_id, within=60))["state"] != "TASK_RUNNING":
                await s.ack(status)
            await s.ack(status)
            await op.drain_agent(agent_id, max_grace_period=1.0, mark_gone=True)
            while (status := await s.update(task_id, within=60))["state"] not in TERMINAL:
                await s.ack(status)
            assert status["state"] == "TASK_GONE_BY_OPERATOR"
            assert status["reason"] == "REASON_AGENT_DRAINING"
            await s.ack(status)
            for _ in range(120):
                if not any(a.agent_info.id.value == agent_id for a in (await op.get_agents()).agents):
                    break
                await asyncio.sleep(0.25)
            assert not any(a.agent_info.id.value == agent_id for a in (await op.get_agents()).agents)
            with pytest.raises(BadRequest, match="Unknown agent"):
                await op.drain_agent(agent_id)
        finally:
            await s.teardown()
