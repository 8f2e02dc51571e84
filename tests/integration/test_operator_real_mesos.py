"""AgentOperator's standalone-container and process I/O calls against a real Mesos 1.11 agent
(the local cluster has no standalone containers): a standalone container, and the streaming calls' errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from mesos_framework.errors import BadRequest, NotFound
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import ContentType, mesos
from tests.support.real_mesos import RealMesos

pytestmark = pytest.mark.real_mesos


@pytest.mark.parametrize("encoding", [ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
async def test_standalone_container_and_process_io_errors(
    real_mesos_cluster: RealMesos, encoding: ContentType
) -> None:
    async with MasterOperator(real_mesos_cluster.url, content_type=encoding) as op:
        agent = (await op.get_agents()).agents[0]
    container_id = f"op-{uuid.uuid4().hex[:8]}"
    async with AgentOperator.for_pid(agent.pid, content_type=encoding) as agent_op:
        await agent_op.launch_container(
            container_id,
            command={"value": "echo standalone; exit 3"},
            resources=[
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            ],
        )
        containers = (await agent_op.get_containers(show_standalone=True)).containers
        assert container_id in [c.container_id.value for c in containers]
        ended = await agent_op.wait_container(container_id)
        assert ended.exit_status == 3 << 8  # a wait(2) status, as Mesos reports it
        with pytest.raises(NotFound, match="cannot be found"):
            await agent_op.kill_container(f"{container_id}-none")
        with pytest.raises(NotFound, match="cannot be found"):
            async for _ in agent_op.attach_container_output(f"{container_id}-none"):
                pass

        # The agent answers an unknown container after the first record, while the client still types.
        async def typing() -> AsyncIterator[mesos.agent.ProcessIO]:
            for _ in range(100):
                yield mesos.agent.ProcessIO(type="DATA", data={"type": "STDIN", "data": b"x"})
                await asyncio.sleep(0.05)

        with pytest.raises(NotFound, match="cannot be found"):  # at once, not after the 100 records
            async with asyncio.timeout(4):
                await agent_op.attach_container_input(f"{container_id}-none", typing())
        with pytest.raises(BadRequest, match=r"Parent container .* does not exist"):
            async for _ in agent_op.launch_nested_container_session(
                {"value": "nested", "parent": {"value": f"{container_id}-none"}}, command={"value": "true"}
            ):
                pass
