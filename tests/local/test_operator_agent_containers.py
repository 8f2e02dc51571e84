"""The local agent's container calls beyond launch and kill: WAIT_CONTAINER answers when an
executor's container ends (with its wait status), REMOVE_CONTAINER of nested containers, and the
process I/O calls answered as Mesos answers them for containers without an I/O switchboard
server (every container here), in both encodings."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest

from mesos_framework.errors import BadRequest, NotFound, ServerError
from mesos_framework.local import LocalCluster
from mesos_framework.operator import AgentOperator
from mesos_framework.protocol import mesos
from tests.conformance.rawclient import TERMINAL, small
from tests.local.conftest import Factory, until_running

SWITCHBOARD = "I/O switchboard server was disabled for this container"


async def typing() -> AsyncIterator[mesos.agent.ProcessIO]:
    for _ in range(100):
        yield mesos.agent.ProcessIO(type="DATA", data={"type": "STDIN", "data": b"x"})
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("encoding", ["application/x-protobuf", "application/json"])
async def test_wait_remove_and_process_io(cluster: LocalCluster, scheduler: Factory, encoding: str) -> None:
    s = await scheduler("operator-wait")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 60"})
    await until_running(s, task_id)
    async with AgentOperator.for_pid(cluster.agents[0].pid, content_type=encoding) as agent_op:
        (container,) = (await agent_op.get_containers()).containers
        cid = container.container_id.value
        nested = {"value": "debug", "parent": {"value": cid}}
        orphan = {"value": "debug", "parent": {"value": "nope"}}

        # The process I/O calls: Mesos's answers for a container without a switchboard server.
        with pytest.raises(ServerError, match=SWITCHBOARD) as info:
            async for _ in agent_op.attach_container_output(cid):
                pass
        assert info.value.status == 500
        with pytest.raises(NotFound, match="Container nope cannot be found"):
            async for _ in agent_op.attach_container_output("nope"):
                pass
        with pytest.raises(ServerError, match=SWITCHBOARD):  # at once, after the first record
            async with asyncio.timeout(30):
                await agent_op.attach_container_input(cid, typing())
        with pytest.raises(NotFound, match="Container nope cannot be found"):
            async with asyncio.timeout(30):
                await agent_op.attach_container_input("nope", typing())
        with pytest.raises(BadRequest, match="Parent container nope does not exist"):
            async for _ in agent_op.launch_nested_container_session(orphan, command={"value": "true"}):
                pass
        with pytest.raises(BadRequest, match="The provided ContainerInfo is not supported"):
            async for _ in agent_op.launch_nested_container_session(nested, command={"value": "true"}):
                pass

        # REMOVE_CONTAINER: a nested container that is not running goes (nothing left here);
        # one of an unknown root is Mesos's failure; a top-level one is 501 (Mesos aborts).
        await agent_op.remove_container(nested)
        with pytest.raises(ServerError, match="Unknown root container"):
            await agent_op.remove_container(orphan)
        with pytest.raises(ServerError) as info:
            await agent_op.remove_container(cid)
        assert info.value.status == 501

        # WAIT_CONTAINER answers when the container ends, with its wait(2) status (each wait on a
        # client of its own: a client's calls share one connection).
        pid = cluster.agents[0].pid
        async with (
            AgentOperator.for_pid(pid, content_type=encoding) as first,
            AgentOperator.for_pid(pid, content_type=encoding) as second,
        ):
            waiting = asyncio.create_task(first.wait_container(cid))
            waiting_nested = asyncio.create_task(second.wait_nested_container({"value": cid}))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await agent_op.kill_container(cid, signal=signal.SIGKILL)
            async with asyncio.timeout(60):
                ended, ended_nested = await asyncio.gather(waiting, waiting_nested)
        assert ended.exit_status == signal.SIGKILL  # killed by the signal, as wait(2) says it
        assert ended_nested.exit_status == signal.SIGKILL
        with pytest.raises(NotFound, match=f"Container {cid} cannot be found"):
            await agent_op.wait_container(cid)
    while (st := await s.update(task_id))["state"] not in TERMINAL:
        await s.ack(st)


async def test_remove_a_pod_tasks_nested_container(cluster: LocalCluster, scheduler: Factory) -> None:
    """REMOVE_CONTAINER of a pod task's nested container: 500 while its task runs, and once the
    task ended its sandbox (``containers/<id>`` in the executor's) goes."""
    s = await scheduler("operator-pod")
    offer = (await s.offers())[0]
    executor = {
        "type": "DEFAULT",
        "executor_id": {"value": "pod-exec"},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}, "role": "*"},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}, "role": "*"},
            {"name": "disk", "type": "SCALAR", "scalar": {"value": 32.0}, "role": "*"},
        ],
    }
    tasks = [
        {
            "name": n,
            "task_id": {"value": n},
            "agent_id": offer["agent_id"],
            "resources": small(offer),
            "command": {"value": cmd},
        }
        for n, cmd in (("web", "sleep 600"), ("job", "exit 0"))
    ]
    launch = {"type": "LAUNCH_GROUP", "launch_group": {"executor": executor, "task_group": {"tasks": tasks}}}
    await s.call("ACCEPT", accept={"offer_ids": [offer["id"]], "operations": [launch]})
    states: dict[str, str] = {}
    while states.get("job") != "TASK_FINISHED" or states.get("web") != "TASK_RUNNING":
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE"))["update"]["status"]
        states[st["task_id"]["value"]] = st["state"]
        await s.ack(st)
    (ex,) = [e for fw in cluster.agents[0].frameworks.values() for e in fw.executors.values()]
    sandboxes = {link.name: link.resolve() for link in (ex.directory / "tasks").iterdir()}
    assert set(sandboxes) == {"web", "job"}
    async with AgentOperator.for_pid(cluster.agents[0].pid) as agent_op:
        with pytest.raises(ServerError, match="Nested container has not terminated yet"):
            await agent_op.remove_container(
                {"value": sandboxes["web"].name, "parent": {"value": ex.container_id}}
            )
        await agent_op.remove_container(
            {"value": sandboxes["job"].name, "parent": {"value": ex.container_id}}
        )
    assert sandboxes["web"].is_dir()
    assert not sandboxes["job"].exists()
