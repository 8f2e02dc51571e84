"""The agent's container calls on an executor's container, on the local cluster and on real
Mesos 1.11 (both encodings): WAIT_CONTAINER answers when the container ends, with its wait(2)
status; the process I/O calls' answers (a 500 to attach to a container that has no I/O
switchboard server, 404 for an unknown container, 400 for a session under an unknown parent);
the answers for a nested container that is not there (REMOVE_CONTAINER's 200, or 500 under an
unknown root);
Mesos's 406/415 for a streaming answer or request of a call that has none."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import pytest

from mesos_framework.errors import BadRequest, NotFound, ServerError
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import ContentType
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info


@pytest.mark.parametrize("encoding", [ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
async def test_wait_and_process_io_of_an_executor_container(
    master_url: str, http: aiohttp.ClientSession, encoding: ContentType
) -> None:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("operator-wait"))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
            await s.ack(st)
        await s.ack(st)
        async with MasterOperator(master_url, content_type=encoding) as op:
            pid = (await op.get_agents()).agents[0].pid
        async with AgentOperator.for_pid(pid, content_type=encoding) as agent_op:
            (container,) = [
                c for c in (await agent_op.get_containers()).containers if c.executor_id.value == task_id
            ]
            cid = container.container_id.value
            # Attaching: the local agent says Mesos's "I/O switchboard server was disabled for
            # this container"; the mesos-local harness "Not supported in local mode".
            with pytest.raises(ServerError) as info:
                async for _ in agent_op.attach_container_output(cid):
                    pass
            assert info.value.status == 500
            with pytest.raises(NotFound, match="Container nope cannot be found"):
                async for _ in agent_op.attach_container_output("nope"):
                    pass
            with pytest.raises(BadRequest, match="Parent container nope does not exist"):
                async for _ in agent_op.launch_nested_container_session(
                    {"value": "debug", "parent": {"value": "nope"}}, command={"value": "true"}
                ):
                    pass
            # A nested container that is not there: Mesos's answers, with the executor's as root.
            gone = {"value": "gone", "parent": {"value": cid}}
            with pytest.raises(NotFound, match=f"Container {cid}.gone cannot be found"):
                await agent_op.wait_container(gone)
            with pytest.raises(NotFound, match="cannot be found"):
                await agent_op.kill_container(gone)
            with pytest.raises(ServerError, match=f"Unknown container {cid}.gone"):
                async for _ in agent_op.attach_container_output(gone):
                    pass
            await agent_op.remove_container(gone)  # nothing to remove: 200
            with pytest.raises(ServerError, match="Unknown root container"):
                await agent_op.remove_container({"value": "gone", "parent": {"value": "nope"}})
            # WAIT_CONTAINER waits on a connection of its own: the client's other calls go on.
            waiting = asyncio.create_task(agent_op.wait_container(cid))
            await asyncio.sleep(0.5)
            async with asyncio.timeout(30):
                assert (await agent_op.get_health()).healthy
            assert not waiting.done()
            await agent_op.kill_container(cid, signal=signal.SIGKILL)
            async with asyncio.timeout(60):
                ended = await waiting
            assert ended.exit_status == signal.SIGKILL  # a wait(2) status: killed by SIGKILL
        while (st := await s.update(task_id))["state"] not in TERMINAL:
            await s.ack(st)
    finally:
        await s.teardown()


async def test_streaming_only_where_mesos_streams(master_url: str, http: aiohttp.ClientSession) -> None:
    async with MasterOperator(master_url) as op:
        pid = (await op.get_agents()).agents[0].pid
    url = f"{master_url}/{pid.partition('@')[0]}/api/v1"
    headers = {"Content-Type": "application/json", "Accept": "application/recordio"}
    async with http.post(url, data=b'{"type": "GET_HEALTH"}', headers=headers) as r:
        assert (r.status, await r.text()) == (406, "Streaming response is not supported for GET_HEALTH call")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    attach = b'{"type": "CONTAINER_ID", "container_id": {"value": "x"}}'
    body = b'{"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": %s}' % attach
    async with http.post(url, data=body, headers=headers) as r:
        expected = "Expecting 'Content-Type' to be application/recordio for ATTACH_CONTAINER_INPUT call"
        assert (r.status, await r.text()) == (415, expected)
    headers = {
        "Content-Type": "application/recordio",
        "Message-Content-Type": "application/json",
        "Accept": "application/json",
    }
    record = b'{"type": "GET_HEALTH"}'
    async with http.post(url, data=b"%d\n%s" % (len(record), record), headers=headers) as r:
        expected = "Streaming 'Content-Type' application/recordio is not supported for GET_HEALTH call"
        assert (r.status, await r.text()) == (415, expected)


async def test_a_nested_container_under_an_executor(master_url: str, http: aiohttp.ClientSession) -> None:
    """LAUNCH_CONTAINER with a parent: a nested container with a sandbox of its own
    (``containers/<id>`` in the executor's); listed with ``show_nested``; killed, waited on
    (its termination kept until REMOVE_CONTAINER), removed with its sandbox."""
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("operator-nested"))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
            await s.ack(st)
        await s.ack(st)
        async with MasterOperator(master_url) as op:
            pid = (await op.get_agents()).agents[0].pid
        sandbox = f"/frameworks/{s.framework_id}/executors/{task_id}/runs/latest/containers/child"
        async with AgentOperator.for_pid(pid) as agent_op, AgentOperator.for_pid(pid) as waiter:
            (cid,) = [
                c.container_id.value
                for c in (await agent_op.get_containers()).containers
                if c.executor_id.value == task_id
            ]
            child = {"value": "child", "parent": {"value": cid}}
            command = {"value": 'echo hi; echo err >&2; test "$MESOS_SANDBOX" = "$PWD" && exec sleep 600'}
            await agent_op.launch_container(child, command=command)
            await agent_op.launch_container(child, command=command)  # 202: launched already
            listed = {
                c.container_id.value for c in (await agent_op.get_containers(show_nested=True)).containers
            }
            assert listed == {cid, "child"}
            deadline = asyncio.get_running_loop().time() + 30
            while (await agent_op.read_file(sandbox + "/stdout")).data != b"hi\n":
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
            assert (await agent_op.read_file(sandbox + "/stderr")).data == b"err\n"
            # A container nested in the nested one: its sandbox in its parent's.
            grand = {"value": "grand", "parent": child}
            await agent_op.launch_container(grand, command={"value": "echo deep; exit 4"})
            async with asyncio.timeout(60):
                assert (await agent_op.wait_container(grand)).exit_status == 4 << 8
            assert (await agent_op.read_file(sandbox + "/containers/grand/stdout")).data == b"deep\n"
            with pytest.raises(BadRequest, match=f"Parent container {cid}.nope does not exist"):
                await agent_op.launch_container(
                    {"value": "x", "parent": {"value": "nope", "parent": {"value": cid}}},
                    command={"value": "true"},
                )
            with pytest.raises(ServerError) as info:  # no I/O switchboard server for it
                async for _ in agent_op.attach_container_output(child):
                    pass
            assert info.value.status == 500
            with pytest.raises(ServerError, match="Nested container has not terminated yet"):
                await agent_op.remove_container(child)
            waiting = asyncio.create_task(waiter.wait_container(child))
            await agent_op.kill_container(child, signal=signal.SIGTERM)
            async with asyncio.timeout(60):
                assert (await waiting).exit_status == signal.SIGTERM  # it ran: MESOS_SANDBOX is its cwd
            assert (await agent_op.wait_container(child)).exit_status == signal.SIGTERM  # kept
            await agent_op.remove_container(child)
            with pytest.raises(NotFound, match=f"Container {cid}.child cannot be found"):
                await agent_op.wait_container(child)
            with pytest.raises(NotFound):
                await agent_op.list_files(sandbox)
    finally:
        await s.teardown()


async def test_container_ids_are_checked(master_url: str) -> None:
    """Mesos's validation of the container calls' ids, before anything else."""
    async with MasterOperator(master_url) as op:
        pid = (await op.get_agents()).agents[0].pid
    async with AgentOperator.for_pid(pid) as agent_op:
        with pytest.raises(
            BadRequest, match=r"'remove_container.container_id' is invalid: '\.\.' is disallowed"
        ):
            await agent_op.remove_container({"value": "..", "parent": {"value": "x"}})
        parent = r"'kill_container.container_id' is invalid: 'ContainerID.parent' is invalid: "
        with pytest.raises(BadRequest, match=parent + "'a/b' contains invalid characters"):
            await agent_op.kill_container({"value": "x", "parent": {"value": "a/b"}})
        with pytest.raises(BadRequest, match=r"'ContainerID.value' 'a\.b' contains invalid characters"):
            await agent_op.launch_container({"value": "a.b"}, command={"value": "true"})
        with pytest.raises(
            BadRequest, match=r"'wait_container\.container_id' is invalid: ID must not be empty"
        ):
            await agent_op.wait_container("")
        with pytest.raises(
            BadRequest, match=r"Expecting 'wait_nested_container.container_id.parent' to be present"
        ):
            await agent_op.wait_nested_container({"value": "x"})
        with pytest.raises(BadRequest, match="exceeds the maximum length"):
            async for _ in agent_op.attach_container_output("x" * 243):
                pass
