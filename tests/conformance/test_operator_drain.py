"""DRAIN_AGENT through the master's operator API, in both encodings, on the local cluster and
on real Mesos 1.11: the agent is deactivated and DRAINING, its task is killed within the
drain's grace period with ``REASON_AGENT_DRAINING``, the agent becomes DRAINED, and only then
can it be reactivated (and offered again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.errors import BadRequest
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import ContentType, mesos
from mesos_framework.protocol._schema import agent_pb2, master_pb2
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info


@pytest.fixture(params=[ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
def encoding(request: pytest.FixtureRequest) -> ContentType:
    return ContentType(request.param)


@pytest_asyncio.fixture
async def op(master_url: str, encoding: ContentType) -> AsyncIterator[MasterOperator]:
    async with MasterOperator(master_url, content_type=encoding) as client:
        yield client


async def agent(op: MasterOperator, agent_id: str) -> master_pb2.Response.GetAgents.Agent:
    (found,) = [a for a in (await op.get_agents()).agents if a.agent_info.id.value == agent_id]
    return found


async def agent_drain(
    found: master_pb2.Response.GetAgents.Agent, encoding: ContentType, *, draining: bool, within: float
) -> agent_pb2.Response.GetAgent:
    """The agent's own GET_AGENT once it shows a drain (``draining``) or once it no longer
    does, at most ``within`` seconds. The master tells the agent of a drain after it answered
    DRAIN_AGENT; the agent drains until nothing at all is left on it."""
    async with AgentOperator.for_pid(found.pid, content_type=encoding) as agent_op:
        for _ in range(round(within / 0.5)):
            answer = await agent_op.get_agent()
            if answer.HasField("drain_config") == draining:
                return answer
            await asyncio.sleep(0.5)
    what = "does not show its drain" if draining else "still drains"
    raise AssertionError(f"the agent {what} after {within:g} s: {answer}")


@pytest.mark.timeout(400)  # generous on a loaded machine: each step has its own limit
async def test_drain_kills_tasks_then_reactivate(
    op: MasterOperator, master_url: str, http: aiohttp.ClientSession
) -> None:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("drain"))
        offer = (await s.offers(within=60))[0]
        agent_id = offer["agent_id"]["value"]
        # the task ignores SIGTERM: it ends only when the grace period is over
        task_id = await s.launch(offer, {"value": "trap '' TERM; sleep 600"})
        while (status := await s.update(task_id, within=60))["state"] != "TASK_RUNNING":
            await s.ack(status)
        await s.ack(status)

        await op.drain_agent(agent_id, max_grace_period=2.0)
        try:
            with pytest.raises(BadRequest, match="Agent is still in the DRAINING state"):
                await op.reactivate_agent(agent_id)
            drained = await agent(op, agent_id)
            assert drained.deactivated and not drained.active
            assert drained.drain_info.config.max_grace_period.nanoseconds == 2_000_000_000
            assert not drained.drain_info.config.mark_gone
            # The agent itself drains too (its task is not acknowledged yet): GET_AGENT says so.
            drain = await agent_drain(drained, op.content_type, draining=True, within=30)
            assert drain.drain_config.max_grace_period.nanoseconds == 2_000_000_000
            assert not drain.drain_config.mark_gone
            assert drain.estimated_drain_start_time.nanoseconds > 0
            while (status := await s.update(task_id, within=60))["state"] not in TERMINAL:
                await s.ack(status)
            assert status["state"] == "TASK_KILLED"
            assert status["reason"] == "REASON_AGENT_DRAINING"
            await s.ack(status)
            for _ in range(60):
                if (await agent(op, agent_id)).drain_info.state == mesos.DRAINED:
                    break
                await asyncio.sleep(0.5)
            last = await agent(op, agent_id)
            assert last.drain_info.state == mesos.DRAINED, f"not drained: {last}"
        finally:
            # The master calls the agent DRAINED once the tasks it knows of ended, but the agent
            # also kills what removed frameworks left on it (earlier tests' tasks, which the
            # master forgot), and it drops every launch (TASK_LOST) until it has killed them
            # too: wait for the agent's own word (GET_AGENT without drain_config).
            try:
                await agent_drain(await agent(op, agent_id), op.content_type, draining=False, within=60)
            finally:
                for _ in range(60):  # the shared real cluster's agent must come back
                    try:
                        await op.reactivate_agent(agent_id)
                        break
                    except BadRequest:
                        await asyncio.sleep(0.5)
        back = await agent(op, agent_id)
        assert back.active and not back.deactivated and not back.HasField("drain_info")
        offers = await s.offers(within=60)
        assert any(o["agent_id"]["value"] == agent_id for o in offers)
    finally:
        await s.teardown()
