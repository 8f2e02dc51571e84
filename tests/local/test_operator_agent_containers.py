"""The local agent's container calls beyond launch and kill, in both encodings: WAIT_CONTAINER
answers when an executor's container ends (with its wait status), REMOVE_CONTAINER of nested
containers, the process I/O calls of an executor's container answered as Mesos answers them for
a container without an I/O switchboard server, and debug containers
(LAUNCH_NESTED_CONTAINER_SESSION) with their output, input, wait, kill and removal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from mesos_framework.errors import BadRequest, Conflict, NotFound, ServerError
from mesos_framework.local import LocalCluster
from mesos_framework.local._agent_model import AgentTask
from mesos_framework.local._operator_agent import _termination
from mesos_framework.operator import AgentOperator
from mesos_framework.protocol import mesos
from tests.conformance.rawclient import TERMINAL, pod_launch, small
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
        tty = {"type": "MESOS", "tty_info": {}}  # a TTY: the local agent has none to give
        with pytest.raises(BadRequest, match="The provided ContainerInfo is not supported"):
            async for _ in agent_op.launch_nested_container_session(
                nested, command={"value": "true"}, container=tty
            ):
                pass

        # REMOVE_CONTAINER: a nested container that is not running goes (nothing left here);
        # one of an unknown root is Mesos's failure; a top-level one is 501 (Mesos aborts).
        await agent_op.remove_container(nested)
        with pytest.raises(ServerError, match="Unknown root container"):
            await agent_op.remove_container(orphan)
        with pytest.raises(ServerError) as info:
            await agent_op.remove_container(cid)
        assert info.value.status == 501

        # WAIT_CONTAINER answers when the container ends, with its wait(2) status; while it
        # waits (on a connection of its own) the same client's other calls go on.
        waiting = asyncio.create_task(agent_op.wait_container(cid))
        nested_waiting = asyncio.create_task(agent_op.wait_nested_container(nested))
        await asyncio.sleep(0.5)
        async with asyncio.timeout(30):
            assert (await agent_op.get_health()).healthy
            assert len((await agent_op.get_containers()).containers) == 1
        assert not waiting.done()
        with pytest.raises(NotFound):  # (no such nested container: answered at once)
            await nested_waiting
        await agent_op.kill_container(cid, signal=signal.SIGKILL)
        async with asyncio.timeout(60):
            ended = await waiting
        assert ended.exit_status == signal.SIGKILL  # killed by the signal, as wait(2) says it
        with pytest.raises(NotFound, match=f"Container {cid} cannot be found"):
            await agent_op.wait_container(cid)
    while (st := await s.update(task_id))["state"] not in TERMINAL:
        await s.ack(st)


async def test_remove_a_pod_tasks_nested_container(cluster: LocalCluster, scheduler: Factory) -> None:
    """REMOVE_CONTAINER of a pod task's nested container: 500 while its task runs, and once the
    task ended its sandbox (``containers/<id>`` in the executor's) goes."""
    s = await scheduler("operator-pod")
    offer = (await s.offers())[0]
    launch = pod_launch(
        offer,
        {"type": "DEFAULT", "executor_id": {"value": "pod-exec"}},
        [("web", "sleep 600"), ("job", "exit 0")],
    )
    await s.call("ACCEPT", accept={"offer_ids": [offer["id"]], "operations": [launch]})
    states: dict[str, str] = {}
    while states.get("job") != "TASK_FINISHED" or states.get("web") != "TASK_RUNNING":
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE"))["update"]["status"]
        states[st["task_id"]["value"]] = st["state"]
        await s.ack(st)
    (ex,) = [e for fw in cluster.agents[0].frameworks.values() for e in fw.executors.values()]
    sandboxes = {link.name: link.resolve() for link in (ex.directory / "tasks").iterdir()}
    assert set(sandboxes) == {"web", "job"}
    web = {"value": sandboxes["web"].name, "parent": {"value": ex.container_id}}
    job = {"value": sandboxes["job"].name, "parent": {"value": ex.container_id}}
    async with AgentOperator.for_pid(cluster.agents[0].pid) as agent_op:
        # GET_CONTAINERS show_nested lists the running task's container (its id alone, as Mesos).
        listed = [c.container_id.value for c in (await agent_op.get_containers(show_nested=True)).containers]
        assert sorted(listed) == sorted([ex.container_id, web["value"]])
        # WAIT_CONTAINER: the ended task's saved termination; the running one's waits.
        assert (await agent_op.wait_container(job)).exit_status == 0
        assert (await agent_op.wait_nested_container(job)).HasField("exit_status")
        waiting = asyncio.create_task(agent_op.wait_container(web))
        # A container nested in a pod task's: in its sandbox.
        under = {"value": "under", "parent": web}
        await agent_op.launch_container(under, command={"value": "exit 5"})
        async with asyncio.timeout(60):
            assert (await agent_op.wait_container(under)).exit_status == 5 << 8
        assert (sandboxes["web"] / "containers" / "under" / "stdout").is_file()
        with pytest.raises(ServerError, match="Nested container has not terminated yet"):
            await agent_op.remove_container(web)
        await agent_op.remove_container(job)
        with pytest.raises(NotFound, match=f"Container {ex.container_id}.{job['value']} cannot be found"):
            await agent_op.wait_container(job)
        assert not waiting.done()
        await agent_op.kill_container(ex.container_id, signal=signal.SIGKILL)
        async with asyncio.timeout(60):
            await waiting  # answered when its executor ended
    assert sandboxes["web"].is_dir()
    assert not sandboxes["job"].exists()


async def test_kill_a_pod_tasks_nested_container(cluster: LocalCluster, scheduler: Factory) -> None:
    """KILL_CONTAINER of a running pod task's nested container signals its task's process, as
    Mesos does: the default executor reports the task failed by the signal, and kills the rest
    of its task group."""
    s = await scheduler("operator-pod-kill")
    offer = (await s.offers())[0]
    launch = pod_launch(
        offer,
        {"type": "DEFAULT", "executor_id": {"value": "pod-kill"}},
        [("web", "sleep 600"), ("db", "sleep 600")],
        executor_resources=[*small(offer), {"name": "disk", "type": "SCALAR", "scalar": {"value": 32.0}}],
    )
    await s.call("ACCEPT", accept={"offer_ids": [offer["id"]], "operations": [launch]})
    states: dict[str, dict[str, Any]] = {}
    while {st["state"] for st in states.values()} != {"TASK_RUNNING"} or len(states) < 2:
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE"))["update"]["status"]
        states[st["task_id"]["value"]] = st
        await s.ack(st)
    (ex,) = [e for fw in cluster.agents[0].frameworks.values() for e in fw.executors.values()]
    web_id = (ex.directory / "tasks" / "web").resolve().name
    web = {"value": web_id, "parent": {"value": ex.container_id}}
    async with AgentOperator.for_pid(cluster.agents[0].pid) as agent_op:
        await agent_op.kill_container(web, signal=0)  # it runs: nothing is sent
        waiting = asyncio.create_task(agent_op.wait_container(web))
        await agent_op.kill_container(web)  # SIGKILL
        while any(st["state"] not in TERMINAL for st in states.values()):
            st = (await s.wait_for(lambda e: e["type"] == "UPDATE", within=60))["update"]["status"]
            states[st["task_id"]["value"]] = st
            await s.ack(st)
        assert states["web"]["state"] == "TASK_FAILED"
        killed = f"Command terminated with signal {signal.strsignal(signal.SIGKILL)}"
        assert states["web"]["message"] == killed
        assert states["db"]["state"] == "TASK_KILLED"  # the task group's policy
        async with asyncio.timeout(60):
            assert (await waiting).exit_status == signal.SIGKILL
        with pytest.raises(NotFound, match="cannot be found \\(or is already killed\\)"):
            await agent_op.kill_container(web)


def test_a_pod_tasks_termination_from_its_status() -> None:
    """The wait(2) status of a pod task's container, from the executor's terminal status."""

    def ended(message: str) -> dict[str, int]:
        task = AgentTask(info=mesos.TaskInfo(name="t"), state=mesos.TASK_FAILED)
        task.statuses.append(mesos.TaskStatus(state=mesos.TASK_FAILED, message=message))
        return _termination(task)

    assert ended("Command exited with status 3") == {"exit_status": 3 << 8}
    assert ended(f"Command terminated with signal {signal.strsignal(signal.SIGTERM)}") == {
        "exit_status": signal.SIGTERM
    }
    assert ended("Command terminated with signal SIGKILL") == {"exit_status": signal.SIGKILL}
    assert ended("Failed to launch") == {}


async def _until_running(agent_op: AgentOperator, container: Mapping[str, object]) -> None:
    """Until the container runs (KILL_CONTAINER with signal 0 answers 200, 404 before)."""
    async with asyncio.timeout(30):
        while True:
            try:
                await agent_op.kill_container(container, signal=0)
                return
            except NotFound:
                await asyncio.sleep(0.05)


@pytest.mark.parametrize("encoding", ["application/x-protobuf", "application/json"])
async def test_debug_container_sessions(cluster: LocalCluster, scheduler: Factory, encoding: str) -> None:
    """LAUNCH_NESTED_CONTAINER_SESSION runs a command under an executor's container and streams
    its output; ATTACH_CONTAINER_INPUT/OUTPUT, WAIT/KILL/REMOVE_CONTAINER work on it."""
    s = await scheduler("operator-session")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 60"})
    await until_running(s, task_id)
    pid = cluster.agents[0].pid
    async with (
        AgentOperator.for_pid(pid, content_type=encoding) as agent_op,
        AgentOperator.for_pid(pid, content_type=encoding) as other,
    ):
        (container,) = (await agent_op.get_containers()).containers
        cid = container.container_id.value
        work = {"value": "work", "parent": {"value": cid}}
        command = {"value": "echo out; echo err >&2; echo $MESOS_SANDBOX; exit 3"}
        records = [r async for r in agent_op.launch_nested_container_session(work, command=command)]
        assert {r.type for r in records} == {mesos.agent.ProcessIO.DATA}
        stdout = b"".join(r.data.data for r in records if r.data.type == mesos.agent.ProcessIO.Data.STDOUT)
        stderr = b"".join(r.data.data for r in records if r.data.type == mesos.agent.ProcessIO.Data.STDERR)
        assert s.framework_id is not None
        sandbox = cluster.agents[0].frameworks[s.framework_id].executors[task_id].directory
        assert (stdout, stderr) == (f"out\n{sandbox}\n".encode(), b"err\n")  # the parent's sandbox
        # Its termination is kept until removed (Mesos checkpoints a nested container's).
        assert (await agent_op.wait_container(work)).exit_status == 3 << 8
        assert (await agent_op.wait_nested_container(work)).exit_status == 3 << 8
        with pytest.raises(ServerError, match=f"Unknown container {cid}.work"):
            async for _ in agent_op.attach_container_output(work):
                pass
        await agent_op.remove_container(work)
        with pytest.raises(NotFound, match=f"Container {cid}.work cannot be found"):
            await agent_op.wait_container(work)

        # Input and a second output: `cat` echoes what is typed to the session and to an
        # attached output, until an empty DATA record ends its stdin.
        cat = {"value": "cat", "parent": {"value": cid}}
        session = asyncio.create_task(
            _collect(agent_op.launch_nested_container_session(cat, command={"value": "cat"}))
        )
        await _until_running(other, cat)
        listed = (await agent_op.get_containers(show_nested=True)).containers
        assert [c.container_id.value for c in listed] == [cid, "cat"]  # as Mesos: no parent
        assert [c.container_id.value for c in (await agent_op.get_containers()).containers] == [cid]
        attached: list[bytes] = []
        seen = asyncio.Event()

        async def watch() -> None:
            async for record in other.attach_container_output(cat):
                attached.append(record.data.data)
                seen.set()

        watching = asyncio.create_task(watch())

        async def typing() -> AsyncIterator[mesos.agent.ProcessIO]:
            while not seen.is_set():  # until the attached output got some
                yield mesos.agent.ProcessIO(type="DATA", data={"type": "STDIN", "data": b"ping\n"})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(seen.wait(), 0.2)
            with pytest.raises(Conflict, match="Multiple input connections are not allowed"):
                await other.attach_container_input(cat, _one_eof())  # while this one is attached
            yield mesos.agent.ProcessIO(type="DATA", data={"type": "STDIN", "data": b""})

        async with AgentOperator.for_pid(pid, content_type=encoding) as typist, asyncio.timeout(60):
            await typist.attach_container_input(cat, typing())
            echoed = await session
            await watching
        assert echoed and set(echoed.split()) == {b"ping"}
        assert attached and set(b"".join(attached).split()) == {b"ping"}
        assert (await agent_op.wait_container(cat)).exit_status == 0

        # A session's container goes when its client hangs up, or with its parent.
        for way in ("hang-up", "parent"):
            held = {"value": way, "parent": {"value": cid}}
            session = asyncio.create_task(
                _collect(agent_op.launch_nested_container_session(held, command={"value": "sleep 600"}))
            )
            await _until_running(other, held)
            if way == "hang-up":
                session.cancel()
            else:
                await other.kill_container(cid, signal=signal.SIGKILL)
            async with asyncio.timeout(60):
                assert (await other.wait_container(held)).exit_status == signal.SIGKILL
            with contextlib.suppress(asyncio.CancelledError):
                await session


async def test_containers_nested_in_nested_ones(cluster: LocalCluster, scheduler: Factory) -> None:
    """LAUNCH_CONTAINER and LAUNCH_NESTED_CONTAINER_SESSION under a nested container, as Mesos:
    the sandbox ``containers/<id>`` in its parent's (a debug container shares its parent's), and
    it goes with its parent; under a nested container that is not there, Mesos's ``400``."""
    s = await scheduler("operator-deep")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 60"})
    await until_running(s, task_id)
    assert s.framework_id is not None
    sandbox = cluster.agents[0].frameworks[s.framework_id].executors[task_id].directory
    async with AgentOperator.for_pid(cluster.agents[0].pid) as agent_op:
        (container,) = (await agent_op.get_containers()).containers
        cid = container.container_id.value
        outer = {"value": "outer", "parent": {"value": cid}}
        await agent_op.launch_container(outer, command={"value": "sleep 600"})
        inner = {"value": "inner", "parent": outer}
        await agent_op.launch_container(inner, command={"value": "echo $MESOS_SANDBOX; exit 4"})
        async with asyncio.timeout(60):
            assert (await agent_op.wait_container(inner)).exit_status == 4 << 8
        inner_sandbox = sandbox / "containers" / "outer" / "containers" / "inner"
        assert (inner_sandbox / "stdout").read_text() == f"{inner_sandbox}\n"
        debug = {"value": "debug", "parent": outer}
        records = [r async for r in agent_op.launch_nested_container_session(debug, command={"value": "pwd"})]
        assert b"".join(r.data.data for r in records) == f"{sandbox / 'containers' / 'outer'}\n".encode()
        with pytest.raises(BadRequest, match=f"Parent container {cid}.nope does not exist"):
            await agent_op.launch_container(
                {"value": "x", "parent": {"value": "nope", "parent": {"value": cid}}},
                command={"value": "true"},
            )
        with pytest.raises(BadRequest, match=f"Parent container {cid}.outer.inner does not exist"):
            async for _ in agent_op.launch_nested_container_session(  # (it has ended)
                {"value": "x", "parent": inner}, command={"value": "true"}
            ):
                pass
        # A nested container goes with its parent.
        held = {"value": "held", "parent": outer}
        await agent_op.launch_container(held, command={"value": "sleep 600"})
        await _until_running(agent_op, held)
        await agent_op.kill_container(outer, signal=signal.SIGKILL)
        async with asyncio.timeout(60):
            assert (await agent_op.wait_container(held)).exit_status == signal.SIGKILL
        await agent_op.kill_container(cid, signal=signal.SIGKILL)
    while (st := await s.update(task_id))["state"] not in TERMINAL:
        await s.ack(st)


async def _collect(records: AsyncIterator[mesos.agent.ProcessIO]) -> bytes:
    return b"".join([r.data.data async for r in records])


async def _one_eof() -> AsyncIterator[mesos.agent.ProcessIO]:
    yield mesos.agent.ProcessIO(type="DATA", data={"type": "STDIN", "data": b""})
