"""Agent restarts (``--recover=reconnect``): checkpointed executors reconnect, nothing is lost."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from mesos_framework.local import LocalCluster
from mesos_framework.local.agent import Executor
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info, small
from tests.local.conftest import Factory, until_running

# Executors retry after random delays of up to MESOS_SUBSCRIPTION_BACKOFF_MAX (2 s): a recovery
# that waits longer is not at the mercy of a busy machine (it ends once they are all back).
SLACK = 15.0


async def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - watching files and processes, not events
            await asyncio.sleep(0.02)


def _executor(cluster: LocalCluster, s: RawScheduler, executor_id: str) -> Executor:
    return cluster.agents[0].frameworks[s.framework_id or ""].executors[executor_id]


def _log(ex: Executor) -> str:
    path = ex.directory / "stderr"
    return path.read_text(errors="replace") if path.exists() else ""


async def _updates_until_terminal(s: RawScheduler, task_id: str) -> list[dict[str, Any]]:
    """Every update of a task up to its terminal one, each acknowledged."""
    out = []
    while True:
        st = await s.update(task_id)
        out.append(st)
        if "uuid" in st:
            await s.ack(st)
        if st["state"] in TERMINAL:
            return out


async def test_checkpointed_task_keeps_running_across_restart(
    scheduler: Factory, cluster: LocalCluster, tmp_path: Path
) -> None:
    s = await scheduler("restart-ckpt", checkpoint=True)
    offer = (await s.offers())[0]
    agent_id = offer["agent_id"]["value"]
    go = tmp_path / "go"
    task_id = await s.launch(offer, {"value": f"while [ ! -e {go} ]; do sleep 0.05; done"})
    await until_running(s, task_id)
    ex = _executor(cluster, s, task_id)
    pid = ex.pid
    assert pid is not None

    await cluster.restart_agent(1, downtime=0.2, reregistration_timeout=SLACK)

    # the same executor process re-subscribed; the agent kept its id and is offered again
    assert _executor(cluster, s, task_id) is ex
    assert ex.state == "RUNNING" and ex.stream is not None
    os.kill(pid, 0)
    await _until(lambda: "re-subscribed to the agent" in _log(ex))  # logged once it has the answer
    again = await s.wait_for(lambda e: e["type"] == "OFFERS")
    assert {o["agent_id"]["value"] for o in again["offers"]["offers"]} == {agent_id}

    go.touch()
    updates = await _updates_until_terminal(s, task_id)
    states = [u["state"] for u in updates]
    # A TASK_RUNNING whose acknowledgement was cut by the restart may come again first
    # (the executor resends what the agent never acknowledged, as Mesos's does).
    assert states[-1] == "TASK_FINISHED" and set(states[:-1]) <= {"TASK_RUNNING"}, states
    assert updates[-1]["source"] == "SOURCE_EXECUTOR"
    assert updates[-1]["message"] == "Command exited with status 0"
    await _until(lambda: ex.state == "TERMINATED")
    assert ex.process is not None and ex.process.returncode == 0


async def test_update_sent_while_agent_is_down_is_delivered(
    scheduler: Factory, cluster: LocalCluster, tmp_path: Path
) -> None:
    s = await scheduler("restart-down", checkpoint=True)
    offer = (await s.offers())[0]
    go = tmp_path / "go"
    task_id = await s.launch(offer, {"value": f"while [ ! -e {go} ]; do sleep 0.05; done"})
    await until_running(s, task_id)
    ex = _executor(cluster, s, task_id)

    cluster.stop_agent(1)
    go.touch()
    # the task ends while the agent is down: its TASK_FINISHED waits in the executor
    await _until(lambda: "TASK_FINISHED of task" in _log(ex) or "UPDATE -> 503" in _log(ex))
    seen = [e["update"]["status"]["state"] for e in s.history if e["type"] == "UPDATE"]
    assert "TASK_FINISHED" not in seen

    await cluster.recover_agent(1, reregistration_timeout=SLACK)
    updates = await _updates_until_terminal(s, task_id)
    assert [u["state"] for u in updates] == ["TASK_FINISHED"]
    assert updates[0]["source"] == "SOURCE_EXECUTOR"
    # acknowledged by the agent at re-subscription, the executor leaves on its own
    await _until(lambda: ex.state == "TERMINATED")
    assert ex.process is not None and ex.process.returncode == 0


async def test_status_update_unacknowledged_by_the_scheduler_survives(
    scheduler: Factory, cluster: LocalCluster, tmp_path: Path
) -> None:
    s = await scheduler("restart-unacked", checkpoint=True)
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    starting = await s.update(task_id)
    assert starting["state"] == "TASK_STARTING"
    await s.ack(starting)
    running = await s.update(task_id)
    assert running["state"] == "TASK_RUNNING"  # not acknowledged before the restart

    await cluster.restart_agent(1, downtime=0.1, reregistration_timeout=SLACK)

    again = await s.update(task_id)
    assert again["state"] == "TASK_RUNNING" and again["uuid"] == running["uuid"]
    await s.ack(again)
    await s.call("KILL", kill={"task_id": {"value": task_id}, "agent_id": offer["agent_id"]})
    updates = await _updates_until_terminal(s, task_id)
    assert updates[-1]["state"] == "TASK_KILLED"


async def test_non_checkpointing_framework_loses_its_tasks(
    scheduler: Factory, cluster: LocalCluster, tmp_path: Path
) -> None:
    s = await scheduler("restart-nockpt")
    offer = (await s.offers())[0]
    pid_file = tmp_path / "pid"
    task_id = await s.launch(offer, {"value": f"echo $$ > {pid_file}; exec sleep 600"})
    await until_running(s, task_id)
    ex = _executor(cluster, s, task_id)
    assert ex.waiter is not None
    task_pid = int(pid_file.read_text())

    cluster.stop_agent(1)
    lost = await s.update(task_id)
    assert lost["state"] == "TASK_LOST"
    assert lost["source"] == "SOURCE_MASTER"
    assert lost["reason"] == "REASON_AGENT_DISCONNECTED"
    assert lost["message"] == "Agent localhost disconnected"
    assert "uuid" not in lost
    # its executor saw the agent go and shut down, killing the task
    await asyncio.wait_for(asyncio.shield(ex.waiter), 30)
    assert "checkpointing is off" in _log(ex)
    await _until(lambda: not Path(f"/proc/{task_pid}").exists())

    agent = await cluster.recover_agent(1)
    assert s.framework_id not in agent.frameworks
    state = cluster.master.state_json()
    [fw] = [f for f in state["frameworks"] if f["id"] == s.framework_id]
    assert fw["tasks"] == []
    assert [t["state"] for t in fw["completed_tasks"] if t["id"] == task_id] == ["TASK_LOST"]


async def test_executor_that_does_not_resubscribe_is_destroyed(
    scheduler: Factory, cluster: LocalCluster
) -> None:
    s = await scheduler("restart-hung", "PARTITION_AWARE", checkpoint=True)
    offer = (await s.offers())[0]
    executor = {
        "executor_id": {"value": "never-subscribes"},
        "command": {"value": "sleep 600"},
        "resources": small(offer),
    }
    task_id = await s.launch(offer, extra={"executor": executor})
    await _until(lambda: _executor(cluster, s, "never-subscribes").pid is not None)
    ex = _executor(cluster, s, "never-subscribes")

    await cluster.restart_agent(1, downtime=0.1)

    gone = await s.update(task_id)
    assert gone["state"] == "TASK_GONE"
    assert gone["source"] == "SOURCE_AGENT"
    assert gone["reason"] == "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
    assert gone["message"] == "Executor did not reregister within 2secs"
    await s.ack(gone)
    await _until(lambda: ex.state == "TERMINATED")
    assert ex.process is not None and ex.process.returncode is not None


async def test_executor_api_while_restarting(
    scheduler: Factory, cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    s = await scheduler("restart-api", checkpoint=True)
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    ex = _executor(cluster, s, task_id)
    agent = cluster.agents[0]
    url = f"{cluster.url}/slave(1)/api/v1/executor"
    ids = {"framework_id": {"value": s.framework_id}, "executor_id": {"value": task_id}}
    update = {
        "type": "UPDATE",
        **ids,
        "update": {
            "status": {
                "task_id": {"value": task_id},
                "state": "TASK_RUNNING",
                "source": "SOURCE_EXECUTOR",
                "uuid": base64.b64encode(uuid.uuid4().bytes).decode(),
            }
        },
    }

    async def post(call: dict[str, Any]) -> tuple[int, str]:
        async with http.post(url, json=call, headers={"Accept": "application/json"}) as r:
            return r.status, await r.text()

    cluster.stop_agent(1)
    assert await post(update) == (503, "Agent has not finished recovery")
    agent.recover()
    try:
        assert await post(update) == (503, "Agent has not finished recovery")
        assert await post({"type": "HEARTBEAT", **ids}) == (202, "")
        other = {
            "type": "SUBSCRIBE",
            "subscribe": {},
            "framework_id": {"value": "nope"},
            "executor_id": {"value": "x"},
        }
        assert await post(other) == (400, "Framework cannot be found")
        await _until(lambda: ex.state == "RUNNING")  # the command executor re-subscribed
    finally:
        agent.finish_recovery(cluster.master)
    assert await post(update) == (202, "")
    assert ex.state == "RUNNING"


async def test_checkpointing_command_executor_obeys_shutdown(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # SHUTDOWN followed by the end of the stream: no reconnection attempts, a clean exit
    work = tmp_path / "work"
    async with LocalCluster(status_update_retry=0.3, allocation_interval=0.2, work_dir=work) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("restart-shutdown", checkpoint=True))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        await until_running(s, task_id)
        ex = _executor(cluster, s, task_id)
        await cluster.stop()
        await s.close()
    assert ex.process is not None and ex.process.returncode == 0
    assert (ex.directory / "stderr").exists()  # the sandbox was kept: its log is there to read
    assert "reconnecting" not in _log(ex)


# Subscribes only once the file given as argv[1] exists; stays until SHUTDOWN.
LATE_EXECUTOR = r"""
import http.client, json, os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
agent, _, addr = os.environ["MESOS_SLAVE_PID"].partition("@")
host, port = addr.rsplit(":", 1)
ids = {"framework_id": {"value": os.environ["MESOS_FRAMEWORK_ID"]},
       "executor_id": {"value": os.environ["MESOS_EXECUTOR_ID"]}}
while True:
    c = http.client.HTTPConnection(host, int(port))
    c.request("POST", f"/{agent}/api/v1/executor", json.dumps({"type": "SUBSCRIBE", "subscribe": {}, **ids}),
              {"Content-Type": "application/json", "Accept": "application/json"})
    r = c.getresponse()
    if r.status == 200:
        break
    r.read()
    time.sleep(0.05)
while (line := r.readline()):
    if json.loads(r.read(int(line)))["type"] == "SHUTDOWN":
        break
"""


async def test_task_unknown_to_a_resubscribing_executor_is_dropped(
    scheduler: Factory, cluster: LocalCluster, tmp_path: Path
) -> None:
    # queued for an executor that had not subscribed when the agent stopped: the executor,
    # subscribing after the restart, does not list it, so it never got it (Slave::subscribe)
    script = tmp_path / "late.py"
    script.write_text(LATE_EXECUTOR)
    go = tmp_path / "go"
    s = await scheduler("restart-late", "PARTITION_AWARE", checkpoint=True)
    offer = (await s.offers())[0]
    executor = {
        "executor_id": {"value": "late"},
        "command": {
            "shell": False,
            "value": sys.executable,
            "arguments": [sys.executable, str(script), str(go)],
        },
        "resources": small(offer),
    }
    task_id = await s.launch(offer, extra={"executor": executor})
    await _until(lambda: _executor(cluster, s, "late").pid is not None)
    ex = _executor(cluster, s, "late")

    cluster.stop_agent(1)
    go.touch()
    await cluster.recover_agent(1, reregistration_timeout=SLACK)

    assert ex.state == "RUNNING"
    dropped = await s.update(task_id)
    assert dropped["state"] == "TASK_DROPPED"
    assert dropped["source"] == "SOURCE_AGENT"
    assert dropped["reason"] == "REASON_AGENT_RESTARTED"
    assert dropped["message"] == "Task launched during agent restart"
    await s.ack(dropped)
