"""Local cluster at scale: 20 agents, 5 frameworks, 2,000 short tasks.

Every task runs as a real process and every status update is acknowledged.
Each framework runs one custom executor per agent (as production frameworks
do; a command executor per task would measure Python start-up time), the
scheduler side is raw HTTP (aiohttp), so only the local cluster is measured.

``python -m bench.local_scale [--quick]`` prints the figures; ``bench.run``
calls :func:`run`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from mesos_framework.local import LocalCluster

EXECUTOR = r"""
import base64, http.client, json, os, subprocess, threading, uuid
env = os.environ
agent, _, addr = env["MESOS_SLAVE_PID"].partition("@")
host, port = addr.rsplit(":", 1)
ids = {"framework_id": {"value": env["MESOS_FRAMEWORK_ID"]},
       "executor_id": {"value": env["MESOS_EXECUTOR_ID"]}}
lock = threading.Lock()
conn = [None]
def post(call):
    with lock:
        for _ in range(3):
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPConnection(host, int(port))
                conn[0].request("POST", f"/{agent}/api/v1/executor", json.dumps({**call, **ids}),
                                {"Content-Type": "application/json"})
                return conn[0].getresponse().read()
            except (OSError, http.client.HTTPException):
                conn[0] = None
def update(task_id, state):
    post({"type": "UPDATE", "update": {"status": {"task_id": task_id, "state": state,
          "source": "SOURCE_EXECUTOR", "uuid": base64.b64encode(uuid.uuid4().bytes).decode()}}})
def run(task):
    update(task["task_id"], "TASK_RUNNING")
    rc = subprocess.call(["/bin/sh", "-c", task["command"]["value"]] if "command" in task else ["true"])
    update(task["task_id"], "TASK_FINISHED" if rc == 0 else "TASK_FAILED")
c = http.client.HTTPConnection(host, int(port))
c.request("POST", f"/{agent}/api/v1/executor", json.dumps({"type": "SUBSCRIBE", "subscribe": {}, **ids}),
          {"Content-Type": "application/json", "Accept": "application/json"})
stream = c.getresponse()
while (line := stream.readline()):
    event = json.loads(stream.read(int(line)))
    if event["type"] == "LAUNCH":
        threading.Thread(target=run, args=(event["launch"]["task"],), daemon=True).start()
    elif event["type"] == "SHUTDOWN":
        break
"""


class Framework:
    """A raw-HTTP scheduler that launches ``total`` tasks and acks everything."""

    def __init__(self, url: str, http: aiohttp.ClientSession, name: str, total: int, script: Path) -> None:
        self.url, self.http, self.name, self.total, self.script = url, http, name, total, script
        self.launched = 0
        self.finished = 0
        self.lost = 0
        self.updates = 0
        self.done = asyncio.Event()
        self.fid: dict[str, str] = {}
        self.stream_id = ""
        self.executors: set[str] = set()

    async def call(self, call: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "Mesos-Stream-Id": self.stream_id}
        async with self.http.post(
            self.url + "/api/v1/scheduler", data=json.dumps(call), headers=headers
        ) as r:
            if r.status != 202:
                raise RuntimeError(f"{call['type']}: {r.status} {await r.text()}")

    async def run(self) -> None:
        info = {"user": "bench", "name": self.name, "failover_timeout": 60.0}
        body = json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}})
        resp = await self.http.post(
            self.url + "/api/v1/scheduler",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self.stream_id = resp.headers["Mesos-Stream-Id"]
        try:
            while not self.done.is_set():
                line = await resp.content.readline()
                if not line:
                    break
                event = json.loads(await resp.content.readexactly(int(line)))
                await self.handle(event)
            await self.call({"type": "TEARDOWN", "framework_id": self.fid})
        finally:
            resp.close()

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "SUBSCRIBED":
            self.fid = event["subscribed"]["framework_id"]
        elif kind == "OFFERS":
            for offer in event["offers"]["offers"]:
                await self.use(offer)
        elif kind == "UPDATE":
            status = event["update"]["status"]
            self.updates += 1
            if "uuid" in status:
                await self.call(
                    {
                        "type": "ACKNOWLEDGE",
                        "framework_id": self.fid,
                        "acknowledge": {
                            "agent_id": status["agent_id"],
                            "task_id": status["task_id"],
                            "uuid": status["uuid"],
                        },
                    }
                )
            if status["state"] == "TASK_FINISHED":
                self.finished += 1
            elif status["state"] in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_KILLED"):
                self.lost += 1
            if self.finished + self.lost >= self.total:
                self.done.set()

    async def use(self, offer: dict[str, Any]) -> None:
        free = {r["name"]: r["scalar"]["value"] for r in offer["resources"] if r["type"] == "SCALAR"}
        agent = offer["agent_id"]["value"]
        executor = {
            "executor_id": {"value": f"{self.name}-{agent}"},
            "command": {
                "shell": False,
                "value": sys.executable,
                "arguments": [sys.executable, str(self.script)],
            },
            "resources": _res(0.1, 32),
        }
        tasks = []
        if agent not in self.executors:
            free["cpus"] = free.get("cpus", 0) - 0.1
            free["mem"] = free.get("mem", 0) - 32
        while self.launched < self.total and free.get("cpus", 0) >= 0.1 - 1e-9 and free.get("mem", 0) >= 16:
            free["cpus"] -= 0.1
            free["mem"] -= 16
            tasks.append(
                {
                    "name": "t",
                    "task_id": {"value": f"{self.name}-{self.launched}"},
                    "agent_id": offer["agent_id"],
                    "resources": _res(0.1, 16),
                    "executor": executor,
                    "command": {"value": "true"},
                }
            )
            self.launched += 1
        for t in tasks:
            t.pop("command")  # a task has an executor or a command, not both
        if tasks:
            self.executors.add(agent)
        await self.call(
            {
                "type": "ACCEPT",
                "framework_id": self.fid,
                "accept": {
                    "offer_ids": [offer["id"]],
                    "filters": {"refuse_seconds": 0.0},
                    "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
                },
            }
        )


def _res(cpus: float, mem: float) -> list[dict[str, Any]]:
    return [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*"},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}, "role": "*"},
    ]


async def scale(agents: int, frameworks: int, tasks: int) -> dict[str, Any]:
    """Run ``tasks`` tasks split over ``frameworks`` on ``agents`` agents; figures."""
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        script = Path(tmp) / "executor.py"
        script.write_text(EXECUTOR)
        async with (
            LocalCluster(
                agents=agents, resources="cpus:2;mem:2048;disk:1024", allocation_interval=0.2
            ) as cluster,
            aiohttp.ClientSession() as http,
        ):
            per = tasks // frameworks
            fws = [Framework(cluster.url, http, f"bench{i}", per, script) for i in range(frameworks)]
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(f.run() for f in fws)), 900)
            seconds = time.perf_counter() - t0
    finished = sum(f.finished for f in fws)
    return {
        "name": f"{agents} agents x {frameworks} frameworks x {per * frameworks} tasks",
        "tasks": per * frameworks,
        "finished": finished,
        "lost": sum(f.lost for f in fws),
        "updates_acked": sum(f.updates for f in fws),
        "seconds": round(seconds, 2),
        "tasks_per_s": round(finished / seconds, 1),
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for ``bench.run``."""
    sizes = (4, 2, 100) if quick else (20, 5, 2000)
    return [asyncio.run(scale(*sizes))]


def main() -> None:
    """``python -m bench.local_scale [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
