"""Custom executors: the MESOS_* environment, the executor API, failures."""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from pathlib import Path

import aiohttp

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, small
from tests.local.conftest import Factory, until_running

# Dumps its environment to env.json, reports RUNNING then FINISHED, exits on the ACK.
EXECUTOR = r"""
import base64, http.client, json, os, uuid
env = dict(os.environ)
json.dump(env, open("env.json", "w"))
agent, _, addr = env["MESOS_SLAVE_PID"].partition("@")
host, port = addr.rsplit(":", 1)
ids = {"framework_id": {"value": env["MESOS_FRAMEWORK_ID"]},
       "executor_id": {"value": env["MESOS_EXECUTOR_ID"]}}
def post(call, stream=False):
    c = http.client.HTTPConnection(host, int(port))
    c.request("POST", f"/{agent}/api/v1/executor", json.dumps({**call, **ids}),
              {"Content-Type": "application/json", "Accept": "application/json"})
    r = c.getresponse()
    return r if stream else (r.status, r.read())
stream = post({"type": "SUBSCRIBE", "subscribe": {}}, stream=True)
events, last = [], None
while (line := stream.readline()):
    event = json.loads(stream.read(int(line)))
    events.append(event["type"])
    if event["type"] == "SUBSCRIBED":
        json.dump(event["subscribed"], open("subscribed.json", "w"))
    elif event["type"] == "LAUNCH":
        task = event["launch"]["task"]["task_id"]
        for state in ("TASK_RUNNING", "TASK_FINISHED"):
            u = base64.b64encode(uuid.uuid4().bytes).decode()
            post({"type": "UPDATE", "update": {"status": {"task_id": task, "state": state,
                  "source": "SOURCE_EXECUTOR", "uuid": u}}})
        last = u
    elif event["type"] == "ACKNOWLEDGED" and event["acknowledged"]["uuid"] == last:
        break
json.dump(events, open("events.json", "w"))
"""


def executor_info(tmp: Path, offer: dict, **extra: object) -> dict:
    script = tmp / "executor.py"
    script.write_text(EXECUTOR)
    info = {
        "executor_id": {"value": f"exec-{uuid.uuid4().hex[:6]}"},
        "command": {"shell": False, "value": sys.executable, "arguments": [sys.executable, str(script)]},
        "resources": small(offer),
    }
    info.update(extra)
    return info


def sandbox_of(cluster: LocalCluster, executor_id: str) -> Path:
    work = cluster.work_dir
    assert work is not None
    (path,) = list(work.glob(f"agent*/slaves/*/frameworks/*/executors/{executor_id}/runs/*"))
    return path


async def test_executor_environment(scheduler: Factory, cluster: LocalCluster, tmp_path: Path) -> None:
    s = await scheduler("env", checkpoint=True)
    offer = (await s.offers())[0]
    ex = executor_info(tmp_path, offer, shutdown_grace_period={"nanoseconds": 7_000_000_000})
    task_id = await s.launch(offer, extra={"executor": ex}, cpus=0.1, mem=32)
    await until_running(s, task_id)
    st = await s.update(task_id)
    assert st["state"] == "TASK_FINISHED"
    assert st["source"] == "SOURCE_EXECUTOR"
    assert "executor_id" not in st  # not set by the executor, so not set by the agent (as Mesos)
    await s.ack(st)
    failure = await s.wait_for(lambda e: e["type"] == "FAILURE")
    assert failure["failure"] == {
        "agent_id": offer["agent_id"],
        "executor_id": ex["executor_id"],
        "status": 0,
    }
    sandbox = sandbox_of(cluster, ex["executor_id"]["value"])
    env = json.loads((sandbox / "env.json").read_text())
    agent = cluster.agents[0]
    assert env["MESOS_FRAMEWORK_ID"] == s.framework_id
    assert env["MESOS_EXECUTOR_ID"] == ex["executor_id"]["value"]
    assert env["MESOS_DIRECTORY"] == env["MESOS_SANDBOX"] == str(sandbox)
    assert env["MESOS_SLAVE_ID"] == offer["agent_id"]["value"]
    assert env["MESOS_SLAVE_PID"] == f"slave(1)@127.0.0.1:{cluster.port}"
    assert env["MESOS_AGENT_ENDPOINT"] == f"127.0.0.1:{cluster.port}"
    assert env["MESOS_CHECKPOINT"] == "1"
    assert env["MESOS_HTTP_COMMAND_EXECUTOR"] == "1"
    assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "7secs"
    assert env["MESOS_RECOVERY_TIMEOUT"] == "15mins"
    assert env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] == "2secs"
    assert env["LIBPROCESS_PORT"] == "0"
    assert agent.id == env["MESOS_SLAVE_ID"]
    sub = json.loads((sandbox / "subscribed.json").read_text())
    assert sub["framework_info"]["id"]["value"] == s.framework_id
    assert sub["executor_info"]["executor_id"] == ex["executor_id"]
    assert sub["agent_info"]["id"] == offer["agent_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", sub["container_id"]["value"])
    assert json.loads((sandbox / "events.json").read_text())[:2] == ["SUBSCRIBED", "LAUNCH"]


async def test_no_checkpoint_env(scheduler: Factory, cluster: LocalCluster, tmp_path: Path) -> None:
    s = await scheduler("env2")
    offer = (await s.offers())[0]
    ex = executor_info(tmp_path, offer)
    task_id = await s.launch(offer, extra={"executor": ex})
    await until_running(s, task_id)
    await s.ack(await s.update(task_id))
    await s.wait_for(lambda e: e["type"] == "FAILURE")
    env = json.loads((sandbox_of(cluster, ex["executor_id"]["value"]) / "env.json").read_text())
    assert env["MESOS_CHECKPOINT"] == "0"
    assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs"
    assert "MESOS_RECOVERY_TIMEOUT" not in env
    assert "MESOS_SUBSCRIPTION_BACKOFF_MAX" not in env


async def test_killed_executor_fails_its_task(scheduler: Factory, cluster: LocalCluster) -> None:
    s = await scheduler("killexec")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    assert cluster.kill_executor(s.framework_id or "", task_id)
    st = await s.update(task_id)
    assert st["state"] == "TASK_FAILED"
    assert st["source"] == "SOURCE_AGENT"
    assert st["reason"] == "REASON_EXECUTOR_TERMINATED"
    assert "uuid" in st
    await s.ack(st)


async def test_message_roundtrip_needs_subscribed_executor(scheduler: Factory) -> None:
    s: RawScheduler = await scheduler("message")
    offer = (await s.offers())[0]
    # MESSAGE to an unknown executor is dropped silently (202).
    await s.call(
        "MESSAGE",
        message={
            "agent_id": offer["agent_id"],
            "executor_id": {"value": "nope"},
            "data": base64.b64encode(b"x").decode(),
        },
    )
    assert await s.quiet(0.5, lambda e: e["type"] == "MESSAGE") == []


async def test_executor_registration_timeout(http: aiohttp.ClientSession) -> None:
    async with LocalCluster(executor_registration_timeout=0.5) as cluster:
        s = RawScheduler(cluster.url, http)
        from tests.conformance.rawclient import framework_info

        await s.subscribe(framework_info("regtimeout"))
        offer = (await s.offers())[0]
        ex = {
            "executor_id": {"value": "never-subscribes"},
            "command": {"value": "sleep 600"},
            "resources": small(offer),
        }
        task_id = await s.launch(offer, extra={"executor": ex})
        st = await s.update(task_id)
        assert st["state"] == "TASK_FAILED"
        assert st["reason"] == "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
        assert st["source"] == "SOURCE_AGENT"
        await s.ack(st)
        failure = await s.wait_for(lambda e: e["type"] == "FAILURE")
        assert failure["failure"]["executor_id"] == ex["executor_id"]
        await s.teardown()
